// Package reliability proves that panicroom keeps working and lets no one
// in, with real processes: its tests build the fixture app under
// testdata/app with optimizations off, run it on a loopback port with the
// Delve agent attached, and then kill the agent, load the app and attack
// its console. Each test publishes what it measured as a [Result]; cmd/report
// turns the results, the browser XSS test's (e2e, in headless Chromium) and
// the output of make fuzz into RELIABILITY.md at the root of the module.
//
// # Running
//
//	go test ./reliability/                        short form, as in CI (about a minute)
//	PANICROOM_RELIABILITY=full go test ./reliability/   the published figures
//	make reliability                              full form, fuzzing, and RELIABILITY.md
//
// Short and full forms run the same tests; the full form runs more
// iterations (100 agent kills instead of 4, 1,000 panics and 20,000 healthy
// requests instead of 100 and 2,000). With PANICROOM_RELIABILITY_RESULTS
// set to a file name, the test binary writes its results there as JSON.
//
// Every loop is bounded in count and in time, every request goes to
// 127.0.0.1, and every process a test starts is stopped when it ends.
package reliability
