module github.com/panicroom/panicroom/contrib/echo

go 1.26.0

replace github.com/panicroom/panicroom => ../..

require (
	github.com/labstack/echo/v4 v4.16.6
	github.com/panicroom/panicroom v0.0.0-00010101000000-000000000000
)

require (
	github.com/cilium/ebpf v0.22.0 // indirect
	github.com/go-delve/delve v1.27.2 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	go.yaml.in/yaml/v3 v3.0.4 // indirect
	golang.org/x/arch v0.28.0 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/telemetry v0.0.0-20241106142447-58a1122356f5 // indirect
	golang.org/x/text v0.42.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)
