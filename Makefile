# panicroom's two set-up commands are `make demo` and `make test`.
SHELL     := /bin/bash
GO        ?= go
DEMO_ADDR ?= 127.0.0.1:8080
# Debugging needs variables the optimizer would remove and calls it would
# inline away: every package is built with optimizations and inlining off.
DEBUG_FLAGS := -gcflags=all=-N -l
# Uncompressed debug information lets the debugger attach in about half the
# time (it freezes the app while it reads it), for a binary 20% larger.
DEBUG_LDFLAGS := -ldflags=-compressdwarf=false

.PHONY: demo test browser bench bench-unit fmt crosscheck noconsole

demo:
	$(GO) build "$(DEBUG_FLAGS)" $(DEBUG_LDFLAGS) -o bin/debugdemo ./cmd/debugdemo
	./bin/debugdemo -addr $(DEMO_ADDR)

# -count=1: the agent, browser and reliability tests build apps in a go build
# subprocess, whose sources the test cache does not see. go test's default
# 10-minute bound per package is too short for the root and e2e packages
# on a loaded two-core machine (CI failed so: TestCompiledOut, building a
# Delve-linked app twice); it bounds a hang, not speed.
TEST_TIMEOUT ?= 30m

test: browser
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(GO) vet -tags panicroom_off . && $(GO) test -tags panicroom_off -count=1 .
	@$(MAKE) --no-print-directory crosscheck noconsole frameworks

# go vet and a compile of every test package for each GOOS/GOARCH the module
# promises to build on (scripts/crosscheck lists them).
crosscheck:
	@sh scripts/crosscheck

# The build every platform without the console gets (no Delve linked in),
# run for real: linux/386 executables run on this amd64 kernel, and 386 is
# outside the console's platforms, so the pages, history, views and
# recovery are tested here exactly as macOS and Windows compile them.
#
# A kernel without IA32 emulation cannot run linux/386 binaries ("exec
# format error"); there the same packages run natively with the tag
# panicroom_noconsole, which builds the debugger as on a platform without
# the console (platform_other.go) and leaves Delve out.
NOCONSOLE_PKGS := . ./internal/traceback ./internal/park ./pin ./internal/console ./internal/agent ./internal/backend ./reliability

noconsole:
	@probe=$$(mktemp -d); printf 'package main\nfunc main() {}\n' > $$probe/probe.go; \
	if (cd $$probe && GOARCH=386 $(GO) build -o probe probe.go) && $$probe/probe 2>/dev/null; then \
		rm -rf $$probe; \
		echo "GOARCH=386 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(NOCONSOLE_PKGS)"; \
		GOARCH=386 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(NOCONSOLE_PKGS); \
	else \
		rm -rf $$probe; \
		echo "noconsole: this kernel cannot run linux/386 binaries; running the no-console build natively with -tags panicroom_noconsole"; \
		$(GO) test -tags panicroom_noconsole -count=1 -timeout $(TEST_TIMEOUT) $(NOCONSOLE_PKGS); \
	fi

# The framework integrations, each a module of its own so that gin, echo,
# chi and gorilla/mux stay out of the main module's go.mod: contrib/gin and
# contrib/echo (in-process tests), and examples/, which builds one app per
# framework with -N -l and runs each: panic, page, assets, console. About a
# minute once the build cache is warm (two more for a cold one).
FRAMEWORK_MODULES := contrib/gin contrib/echo examples

.PHONY: frameworks
frameworks:
	@for m in $(FRAMEWORK_MODULES); do \
		echo "== $$m"; \
		(cd $$m && $(GO) vet ./... && $(GO) test -count=1 ./...) || exit 1; \
	done

# The browser tests drive Debian's Chromium; install it when it is missing.
browser:
	@sh scripts/ensure-chromium

# Everything side by side (bench/, its own module): the bare handler, chi's
# Recoverer, Werkzeug's debugger, Chromium, and for the dev loop panicroom
# run against air (installed into bin/) and a script; rewrites BENCHMARKS.md.
# About 5-10 minutes; figures are printed, never asserted.
bench: browser
	@sh bench/werkzeug/ensure.sh
	GOBIN=$(CURDIR)/bin $(GO) install github.com/air-verse/air@$(AIR_VERSION)
	cd bench && $(GO) run ./cmd/benchrun -out ../BENCHMARKS.md

# The main module's in-package benchmarks.
bench-unit:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# The debugger, fault and console tests on linux/arm64, in an emulated
# machine (scripts/arm64/run): installs qemu-system-arm and cpio and fetches
# Debian's arm64 kernel into .cache/arm64 when missing (as root), builds
# everything here, boots, runs, powers off. About 23 minutes on 2 cores,
# both taken the whole time; exits non-zero when a test fails.
.PHONY: test-arm64
test-arm64:
	@GO=$(GO) sh scripts/arm64/run

# The debugger, fault and console suites with the agent on Delve's
# gdbserial backend, the one macOS uses with debugserver, here driving
# LLVM's lldb-server (PANICROOM_BACKEND=lldb): installs lldb-19 when no
# lldb-server 19 or newer is found (as root, scripts/ensure-lldb), then runs
# ./internal/agent (debugger and fault tests), ./internal/backend, ./internal/console, and the browser's
# console tests. Tests that cannot pass through a stub skip saying why.
LLDB_E2E := ^(TestConsole|TestTopLevelConsole)$$

.PHONY: test-lldb
test-lldb: browser
	@sh scripts/ensure-lldb
	PANICROOM_BACKEND=lldb $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./internal/agent ./internal/backend ./internal/console
	PANICROOM_BACKEND=lldb $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -run '$(LLDB_E2E)' ./e2e

# The part of test-arm64 that fits a CI job (3.5 to 8 minutes): the agent's
# faults on arm64 (kills before, during and after a call, a call that never
# returns, the SIGTRAP guard and its slots; each makes calls after the
# restart), the calls the app makes itself, with -short, and ./internal/console.
ARM64_SHORT_TESTS = ^(TestDirectCalls|TestCallDeadline|TestAgentKilled|TestAgentKilledMidCall|TestStaleTrapSlots)$$
.PHONY: test-arm64-short
test-arm64-short:
	@GO=$(GO) ARM64_SHORT=1 ARM64_PKGS='./internal/agent:$(ARM64_SHORT_TESTS) ./internal/console' sh scripts/arm64/run

.PHONY: fuzz reliability

# Each fuzz target runs for FUZZTIME; its output goes to FUZZLOG too, for
# the report. Crashers land in the package's testdata/fuzz: commit them.
FUZZTIME ?= 30s
FUZZLOG  ?= /dev/null
FUZZ_TARGETS := FuzzRewrite:./internal/backend FuzzDecode:./internal/console FuzzCookie:./pin \
	FuzzNegotiateAccept:./internal/negotiate FuzzContext:./internal/traceback FuzzValueOf:./internal/traceback

# Go 1.26's fuzz coordinator can fail a target with a bare "context
# deadline exceeded" as -fuzztime ends, with no input at fault
# (golang/go#75804, fixed in Go 1.27): such a run wrote no reproducer, and
# is reported as that race instead of a failure. A written reproducer fails.
fuzz:
	@mkdir -p bin; : > $(FUZZLOG); status=0; out=$$(mktemp); for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; echo "== $$name $$pkg" | tee -a $(FUZZLOG); \
		before=$$(ls $$pkg/testdata/fuzz/$$name 2>/dev/null | wc -l); \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1 | tee $$out | tee -a $(FUZZLOG); rc=$${PIPESTATUS[0]:-0}; \
		after=$$(ls $$pkg/testdata/fuzz/$$name 2>/dev/null | wc -l); \
		if [ $$rc -ne 0 ] && [ $$after -eq $$before ] && grep -q '^    context deadline exceeded$$' $$out; then \
			echo "== $$name: no input failed; the end of -fuzztime hit Go's coordinator race (golang/go#75804)" | tee -a $(FUZZLOG); \
		elif [ $$rc -ne 0 ]; then status=1; fi; \
	done; rm -f $$out; exit $$status

# The full reliability suite (about 12 minutes on 2 cores), then
# RELIABILITY.md rewritten from what it measured, even when a test failed.
reliability: browser
	@mkdir -p bin
	$(MAKE) fuzz FUZZTIME=20s FUZZLOG=bin/fuzz.log
	PANICROOM_RELIABILITY=full PANICROOM_RELIABILITY_RESULTS=$(CURDIR)/bin/reliability.json \
		$(GO) test -count=1 -timeout 20m -v ./reliability/ 2>&1 | tee bin/reliability.log; status=$${PIPESTATUS[0]}; \
	PANICROOM_RELIABILITY_RESULTS=$(CURDIR)/bin/xss.json \
		$(GO) test -count=1 -timeout 5m -v -run 'TestPayloadsStayText' ./e2e/ 2>&1 | tee bin/xss.log; xss=$${PIPESTATUS[0]}; \
		$(GO) run ./reliability/cmd/report -results bin/reliability.json,bin/xss.json -fuzz bin/fuzz.log -o RELIABILITY.md && exit $$((status | xss))

# air (the most used Go reloader) with the README's .air.toml keeps the
# console: installs air v1.67.4 from the module proxy into bin/, then runs
# the e2e test. Not in make test: it fetches air (a minute or two the first
# time).
AIR_VERSION ?= v1.67.4
.PHONY: test-air
test-air: browser
	GOBIN=$(CURDIR)/bin $(GO) install github.com/air-verse/air@$(AIR_VERSION)
	PANICROOM_AIR=$(CURDIR)/bin/air $(GO) test -count=1 -timeout 10m -v -run 'TestAirKeepsTheConsole' ./e2e/
