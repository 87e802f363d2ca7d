package main

import (
	"encoding/json"
	"fmt"
	"time"
)

// startup is figure 6: time to the first served request with and without
// panicroom, attach time, the app's freeze during attach as clients see
// it, the agent's memory, and memory per parked panic.
func startup(r *report, bin string) {
	step("figure 6: start-up and memory")
	const rounds = 4
	first := map[string]dist{}
	freeze := map[string]dist{}
	var ready dist
	var lastPR *app
	for i := range rounds {
		for _, mode := range []string{"bare", "panicroom"} {
			addr := freeAddr()
			t0 := time.Now()
			p, err := start("benchapp -mode "+mode, addr,
				[]string{"PANICROOM_PIN=" + pin, "XDG_CONFIG_HOME=" + tmpDir},
				bin, "-mode", mode, "-addr", addr, "-pprof", "127.0.0.1:0")
			must(err, "starting benchapp")
			c := newClient(true)
			deadline := t0.Add(20 * time.Second)
			for {
				if _, resp, _, err := get(c, p.URL()+"/ok"); err == nil && resp.StatusCode == 200 {
					break
				}
				if time.Now().After(deadline) {
					panic("benchapp never answered:\n" + p.Log())
				}
				time.Sleep(time.Millisecond)
			}
			first[mode] = append(first[mode], time.Since(t0))
			// Paced requests through the attach: the longest one is the
			// freeze a client saw.
			stop := make(chan struct{})
			wait := probe(c, p.URL()+"/ok", 1, time.Millisecond, stop)
			if mode == "panicroom" {
				_, at, err := p.waitLog(attachedLine, 30*time.Second)
				must(err, "attach")
				ready = append(ready, at.Sub(t0))
				time.Sleep(200 * time.Millisecond)
			} else {
				time.Sleep(1500 * time.Millisecond)
			}
			close(stop)
			d, _ := wait()
			freeze[mode] = append(freeze[mode], d.max())
			if mode == "panicroom" && i == rounds-1 {
				lastPR = &app{proc: p}
				must(lastPR.waitAttached(), "attach")
				m, _, _ := p.waitLog(pprofLine, time.Second)
				lastPR.pprof = m[1]
				continue
			}
			p.stop()
		}
	}
	defer lastPR.stop()
	fb, fp := first["bare"].med(), first["panicroom"].med()
	r.add(row{fmt.Sprintf("6. Start to first served request (median / max of %d)", rounds),
		fmt.Sprintf("%s / %s", ms(fp), ms(first["panicroom"].max())), fmt.Sprintf("bare %s / %s", ms(fb), ms(first["bare"].max())),
		ratio(float64(fp), float64(fb)), "never delayed (≈ 1× bare)", verdict(float64(fp)/float64(fb), 1.1, ratioUnit) + " (within 10%)"})
	r.add(row{fmt.Sprintf("6. Start to console ready, \"debugger attached\" logged (median / max of %d)", rounds),
		fmt.Sprintf("%s / %s", ms(ready.med()), ms(ready.max())), "first request " + ms(fp), ratio(float64(ready.med()), float64(fp)),
		"≤ 500 ms", verdict(float64(ready.med()), float64(500*time.Millisecond), durUnit)})
	r.add(row{"6. Longest request during start-up and attach (paced every 1 ms; median / max of rounds)",
		fmt.Sprintf("%s / %s", ms(freeze["panicroom"].med()), ms(freeze["panicroom"].max())),
		fmt.Sprintf("bare %s / %s", ms(freeze["bare"].med()), ms(freeze["bare"].max())),
		ratio(float64(freeze["panicroom"].med()), float64(freeze["bare"].med())), "≤ 20 ms",
		verdict(float64(freeze["panicroom"].med()), float64(20*time.Millisecond), durUnit)})
	if float64(fp)/float64(fb) > 1.1 {
		r.missed("Figure 6: first served request", fmt.Sprintf("The first request was served %s after start, against %s bare. panicroom.New itself takes 1.3-1.9 ms of the app's start in this -N -l build (timed inside it, 2026-12-06: mostly cold code, the console's guard and the assets' table), and starts a warm-up goroutine beside the app's start (the first page's one-time work and, in a small app, its first collection). The agent starts after the warm-up, so that the app keeps a core to itself: 40 interleaved starts, 2026-12-06: bare 8.6 ms, PANICROOM_AGENT=off 10.3 ms, the agent started at once 13.1 ms, after the warm-up 11.5 ms. What is left is the agent's exec and package initialisation (3.5 ms of init in this build, GODEBUG=inittrace=1) and the start of its DWARF load on the second core, beside the app's own runtime and net/http goroutines; starting it later still would move the console's readiness later by as much.", ms(fp), ms(fb)), "")
	}
	r.note("Figure 6: the agent reads the binary's debug information while the app runs, then stops the app once to attach; requests that arrive in that stop wait, and the longest request above is about its length. The first request is served before the agent attaches, so it is not delayed, but the requests right after it can be.")
	if ready.med() > 500*time.Millisecond {
		r.missed("Figure 6: console ready", fmt.Sprintf("The console was ready %s after start (median), %s over the 500 ms goal: most of it is the agent parsing the binary's DWARF (Delve's loadDebugInfoMaps, before the stop) on cores it shares with the app and the client.", ms(ready.med()), ms(ready.med()-500*time.Millisecond)), "")
	}
	if freeze["panicroom"].med() > 20*time.Millisecond {
		r.missed("Figure 6: the attach's stop", fmt.Sprintf("The longest request during start-up took %s (median of rounds), against 20 ms. Inside the stop: PTRACE_ATTACH of every thread and Delve's new Target, whose reads of the debug information are done before the stop (internal/backend/stopwork_linux.go; on linux/arm64 Delve's scan of the DWARF for runtime.allgs stays inside it), Delve's breakpoints cleared and the trap table swept.", ms(freeze["panicroom"].med())), "")
	}

	rss, hwm := agentRSS(nil, lastPR, "")
	appRSS := procRSS(lastPR.cmd.Process.Pid)
	r.add(row{"6. Agent memory after attach: RSS (peak)", fmt.Sprintf("%s (%s)", kib(rss), kib(hwm)), "the app " + kib(appRSS),
		ratio(rss, appRSS), "≤ 48 MiB", verdict(hwm, 48<<20, bytesUnit)})
	// The agent is the app's own binary: the pages of it that both map
	// are one copy in memory, counted whole in each RSS. The PSS splits
	// them, so it is what the agent adds.
	pss := smapsRollup(lastPR.agentPID, "Pss:")
	shared := smapsRollup(lastPR.agentPID, "Shared_Clean:")
	r.add(row{"6. Agent memory after attach: PSS (pages shared with the app counted by half)", kib(pss), "the app " + kib(smapsRollup(lastPR.cmd.Process.Pid, "Pss:")),
		"—", "—", "—"})
	if hwm > 48<<20 {
		r.missed("Figure 6: agent memory", fmt.Sprintf("The agent's peak RSS was %s, %s over 48 MiB, during the load of the debug information (its garbage, collected at GOGC 50, then returned to the system); after the attach its RSS is %s, of which %s are pages of the executable it shares with the app (PSS %s). Its live heap is Delve's view of the app's binary (built with -N -l, with Delve itself linked in): the raw DWARF sections it keeps and its maps of functions, types, variables and line tables.", kib(hwm), kib(hwm-48<<20), kib(rss), kib(shared), kib(pss)), "")
	}

	// Memory per parked panic against chi's Recoverer, which does not park.
	chi, err := startApp(bin, "chi")
	must(err, "starting benchapp")
	defer chi.stop()
	prGo, prRSS := perPanic(lastPR, 16)
	chGo, chRSS := perPanic(chi, 16)
	r.add(row{"6. Memory per parked panic (16 panics of 20 frames): RSS / Go heap+stacks after GC",
		fmt.Sprintf("%s / %s", kib(prRSS), kib(prGo)), fmt.Sprintf("chi, not parked: %s / %s", kib(chRSS), kib(chGo)),
		"—", "≤ 64 KiB", verdict(max(prRSS, prGo), 64*1024, bytesUnit)})
	if max(prRSS, prGo) > 64*1024 {
		r.missed("Figure 6: memory per parked panic", fmt.Sprintf("Each parked panic costs %s of RSS and %s of Go runtime memory (after a collection), against 64 KiB: the parked goroutine keeps its stack, which every request grows to at least stackHeadroom (48 KiB, so a 64 KiB stack) before the handler runs, and waits in read(2), which holds an OS thread (its stack and the runtime's per-M memory, about 6 KiB of Go heap) for as long as it is parked; the rest is the panic's record (its frames with their source contexts, which share the cached files' lines, and its goroutines section, about 14 KiB of a 7-goroutine app), about 48 KiB of Go heap in a heap profile (go tool pprof -sample_index=inuse_space) of 16 panics.", kib(prRSS), kib(prGo)), "")
	}
}

// perPanic triggers n panics, one at a time, and returns the growth of the
// Go runtime's memory (after a collection) and of RSS, per panic.
func perPanic(a *app, n int) (goBytes, rssBytes float64) {
	mem := func() float64 {
		_, _, b, err := get(newClient(false), "http://"+a.pprof+"/mem?gc=1")
		must(err, "reading /mem")
		var m map[string]float64
		must(json.Unmarshal(b, &m), "decoding /mem")
		// What the runtime uses, not what it has mapped (which a few
		// panics do not change): live heap, goroutine stacks, and the
		// stacks of OS threads.
		return m["/memory/classes/heap/objects:bytes"] + m["/memory/classes/heap/stacks:bytes"] + m["/memory/classes/os-stacks:bytes"]
	}
	// One panic first, so that sources are cached and pools are filled.
	c := newClient(false)
	get(c, a.URL()+"/panic?depth=20")
	time.Sleep(time.Second)
	g0, r0 := mem(), procRSS(a.cmd.Process.Pid)
	for range n {
		get(c, a.URL()+"/panic?depth=20")
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // snapshots
	g1, r1 := mem(), procRSS(a.cmd.Process.Pid)
	return (g1 - g0) / float64(n), (r1 - r0) / float64(n)
}

func procRSS(pid int) float64 {
	return procStatus(pid, "VmRSS:")
}
