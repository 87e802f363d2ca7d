package main

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// stuckWorkers are the goroutines the last visit of /stuck left waiting;
// each visit releases the previous ones, so that the demo does not leak.
var stuckWorkers struct {
	sync.Mutex
	start chan struct{}
	done  sync.WaitGroup
}

// stuck starts 50 workers that wait for a start signal nobody sends, and
// panics because none reported back: the page's Goroutines section shows
// them as one group of 50, waiting on the line of worker.
func stuck(w http.ResponseWriter, r *http.Request) {
	stuckWorkers.Lock()
	defer stuckWorkers.Unlock()
	if stuckWorkers.start != nil {
		close(stuckWorkers.start)
		stuckWorkers.done.Wait()
	}
	start := make(chan struct{})
	stuckWorkers.start = start
	results := make(chan int, 50)
	var ready sync.WaitGroup
	for i := range 50 {
		ready.Add(1)
		stuckWorkers.done.Add(1)
		go worker(i, start, results, &ready)
	}
	ready.Wait()
	select {
	case id := <-results:
		fmt.Fprintf(w, "worker %d reported", id)
	case <-time.After(50 * time.Millisecond):
		panic("no worker reported back within 50ms")
	}
}

func worker(id int, start chan struct{}, results chan<- int, ready *sync.WaitGroup) {
	defer stuckWorkers.done.Done()
	ready.Done()
	<-start // the workers wait here
	results <- id
}
