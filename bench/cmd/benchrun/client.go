package main

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// The one Go client every server is measured with.
func newClient(keepAlive bool) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DisableKeepAlives:   !keepAlive,
			DisableCompression:  true,
			MaxIdleConnsPerHost: 64,
		},
		Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// get fetches url completely and says how long that took.
func get(c *http.Client, url string, header ...string) (time.Duration, *http.Response, []byte, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	t := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return time.Since(t), resp, body, err
}

// load runs workers closed loops of GET url for d and returns the latency
// of every request that succeeded, and how many failed.
func load(c *http.Client, url string, workers int, d time.Duration) (dist, int) {
	var mu sync.Mutex
	var all dist
	failed := 0
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine dist
			bad := 0
			for time.Now().Before(end) {
				took, resp, _, err := get(c, url)
				if err != nil || resp.StatusCode != 200 {
					bad++
					continue
				}
				mine = append(mine, took)
			}
			mu.Lock()
			all = append(all, mine...)
			failed += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, failed
}

// probe sends paced GET url requests (one per interval per worker) until
// stop is closed, and returns their latencies.
func probe(c *http.Client, url string, workers int, interval time.Duration, stop <-chan struct{}) func() (dist, int) {
	var mu sync.Mutex
	var all dist
	failed := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				took, resp, _, err := get(c, url)
				mu.Lock()
				if err != nil || resp.StatusCode != 200 {
					failed++
				} else {
					all = append(all, took)
				}
				mu.Unlock()
				time.Sleep(interval)
			}
		}()
	}
	return func() (dist, int) {
		wg.Wait()
		return all, failed
	}
}

func must(err error, what string) {
	if err != nil {
		panic(fmt.Errorf("%s: %w", what, err))
	}
}
