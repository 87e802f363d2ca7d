package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/panicroom/panicroom/bench"
)

// happyPath is figure 1: bare, panicroom and chi's Recoverer around a
// handler that does not panic, in process and over loopback HTTP.
func happyPath(r *report, bin string) {
	step("figure 1: happy path in process")
	const rounds = 5
	ns := map[string][]float64{}
	allocs := map[string]int64{}
	for range rounds {
		for _, w := range bench.Wrappers {
			res := testing.Benchmark(bench.HappyPath(w.Wrap))
			ns[w.Name] = append(ns[w.Name], float64(res.T.Nanoseconds())/float64(res.N))
			allocs[w.Name] = max(allocs[w.Name], res.AllocsPerOp())
		}
	}
	bare, pr, chi := medianF(ns["bare"]), medianF(ns["panicroom"]), medianF(ns["chi"])
	r.add(row{"1. Happy path in process, ns/op (median of 5)",
		fmt.Sprintf("%.1f ns", pr), fmt.Sprintf("bare %.1f ns; chi %.1f ns", bare, chi),
		fmt.Sprintf("%s bare; %s chi", ratio(pr, bare), ratio(pr, chi)), "— (see allocations and HTTP)", "—"})
	extra := allocs["panicroom"] - allocs["bare"]
	v := "meets"
	if extra > 0 {
		v = fmt.Sprintf("**misses** by %d allocations", extra)
	}
	r.add(row{"1. Happy path in process, allocs/op", fmt.Sprint(allocs["panicroom"]),
		fmt.Sprintf("bare %d; chi %d", allocs["bare"], allocs["chi"]), fmt.Sprintf("+%d", extra), "0 extra", v})
	r.note("Figure 1 in process: %.1f ns for panicroom against %.1f ns bare is the deferred recover, the stack headroom check (growStack) and the writer wrapper; it is the per-request cost before any I/O.", pr, bare)

	step("figure 1: happy path over HTTP")
	apps := map[string]*app{}
	for _, mode := range []string{"bare", "panicroom", "chi"} {
		a, err := startApp(bin, mode)
		must(err, "starting benchapp")
		defer a.stop()
		apps[mode] = a
	}
	must(apps["panicroom"].waitAttached(), "panicroom's agent")

	// Keep-alive connections, as a browser or an API client uses them:
	// rounds alternate the servers so that noise spreads over all three.
	const httpRounds, per, workers = 5, 2 * time.Second, 4
	lat := map[string]dist{}
	rps := map[string][]float64{}
	fresh := map[string]dist{}
	var profile string
	for i := range httpRounds {
		for _, mode := range []string{"bare", "panicroom", "chi"} {
			c := newClient(true)
			var prof chan string
			if mode == "panicroom" && i == httpRounds-1 {
				prof = make(chan string, 1)
				go func() {
					p, err := cpuProfile(apps[mode], "happy", int(per/time.Second))
					if err != nil {
						p = ""
					}
					prof <- p
				}()
			}
			d, failed := load(c, apps[mode].URL()+"/ok", workers, per)
			if failed > 0 {
				r.note("figure 1: %d failed requests to %s", failed, mode)
			}
			lat[mode] = append(lat[mode], d...)
			rps[mode] = append(rps[mode], float64(len(d))/per.Seconds())
			if prof != nil {
				profile = <-prof
			}
			c.CloseIdleConnections()
			// A fresh connection per request: what a client that does
			// not keep connections alive pays, new goroutine and all.
			fc := newClient(false)
			fd, _ := load(fc, apps[mode].URL()+"/ok", 1, per/4)
			fresh[mode] = append(fresh[mode], fd...)
		}
	}
	b, p, ch := medianF(rps["bare"]), medianF(rps["panicroom"]), medianF(rps["chi"])
	cost := b / p // time per request, panicroom over bare
	r.add(row{"1. Happy path over HTTP, keep-alive, 4 clients: requests/s (median of 5 rounds)",
		fmt.Sprintf("%.0f/s", p), fmt.Sprintf("bare %.0f/s; chi %.0f/s", b, ch),
		fmt.Sprintf("%.3f× bare's time per request; %.3f× chi's", cost, ch/p), "≤ 1.02× bare",
		verdict(cost, 1.02, ratioUnit)})
	r.add(row{"1. Happy path over HTTP, keep-alive: latency",
		lat["panicroom"].medP99(), fmt.Sprintf("bare %s; chi %s", lat["bare"].medP99(), lat["chi"].medP99()),
		fmt.Sprintf("%s p50, %s p99 bare", ratio(float64(lat["panicroom"].med()), float64(lat["bare"].med())), ratio(float64(lat["panicroom"].p99()), float64(lat["bare"].p99()))),
		"≤ 1.02× bare", verdict(float64(lat["panicroom"].med())/float64(lat["bare"].med()), 1.02, ratioUnit)})
	r.add(row{"1. Happy path over HTTP, a new connection per request: latency",
		fresh["panicroom"].medP99(), fmt.Sprintf("bare %s; chi %s", fresh["bare"].medP99(), fresh["chi"].medP99()),
		fmt.Sprintf("%s p50 bare", ratio(float64(fresh["panicroom"].med()), float64(fresh["bare"].med()))),
		"≤ 1.02× bare", verdict(float64(fresh["panicroom"].med())/float64(fresh["bare"].med()), 1.02, ratioUnit)})
	if cost > 1.02 || float64(fresh["panicroom"].med())/float64(fresh["bare"].med()) > 1.02 || float64(lat["panicroom"].med())/float64(lat["bare"].med()) > 1.02 {
		top := ""
		if profile != "" {
			top = pprofTop(bin, profile, 25)
		}
		r.missed("Figure 1: happy path over HTTP",
			fmt.Sprintf("panicroom served %.0f requests/s against %.0f bare (%.3f× the time per request; goal ≤ 1.02×); a fresh connection per request took %s against %s bare. On a shared two-core machine where the client takes as much CPU as the server, differences of a few percent are within the noise of one run: compare several runs before acting. CPU profile of the panicroom app during its last keep-alive round:", p, b, cost, ms(fresh["panicroom"].med()), ms(fresh["bare"].med())),
			top)
	}
	_ = http.StatusOK
}
