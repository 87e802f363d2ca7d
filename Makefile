# panicroom's two set-up commands are `make demo` and `make test`.
GO        ?= go
DEMO_ADDR ?= 127.0.0.1:8080
# Debugging needs variables the optimizer would remove and calls it would
# inline away: every package is built with optimizations and inlining off.
DEBUG_FLAGS := -gcflags=all=-N -l

.PHONY: demo test browser bench fmt

demo:
	$(GO) build "$(DEBUG_FLAGS)" -o bin/debugdemo ./cmd/debugdemo
	./bin/debugdemo -addr $(DEMO_ADDR)

test: browser
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) test -race ./...

# The browser tests drive Debian's Chromium; install it when it is missing.
browser:
	@sh scripts/ensure-chromium

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
