//go:build !panicroom_off

package panicroom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/panicroom/panicroom/internal/negotiate"
	"github.com/panicroom/panicroom/internal/traceback"
	"github.com/panicroom/panicroom/internal/web"
)

// Prefix is the URL path under which panicroom serves its own pages. Every
// other path goes to the wrapped handler.
const Prefix = "/__panicroom__/"

// csp allows our own files and nothing else: no inline script, no other
// origin. Panic values, headers and source are data on these pages, and
// even an escaping mistake must not be able to run script.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func setPageHeaders(h http.Header, ctype string) {
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// plainError is the one way panicroom's routes answer with an error.
func plainError(w http.ResponseWriter, code int, msg string) {
	setPageHeaders(w.Header(), "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, msg)
	if !strings.HasSuffix(msg, "\n") {
		io.WriteString(w, "\n")
	}
}

func (d *Debugger) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"{$}", d.serveIndex)
	mux.HandleFunc("GET "+Prefix+"panic/{id}", d.servePanic)
	mux.HandleFunc("GET "+Prefix+"events", d.serveEvents)
	mux.HandleFunc("GET "+Prefix+"static/{name}", d.serveStatic)
	mux.HandleFunc("GET "+Prefix+"session", d.serveSession)
	mux.HandleFunc("POST "+Prefix+"pin", d.servePIN)
	mux.HandleFunc("POST "+Prefix+"pin/print", d.servePrintPIN)
	mux.HandleFunc("GET "+Prefix+"console/ws", d.serveConsoleWS)
	mux.HandleFunc("GET "+Prefix+"console", d.serveConsolePage)
	mux.HandleFunc("POST "+Prefix+"panic/{id}/continue", d.serveContinue)
	mux.HandleFunc("GET "+Prefix+"panic/{id}/frame/{n}", d.serveFrameSource)
	mux.HandleFunc("GET "+Prefix+"panic/{id}/goroutines", d.serveGoroutines)
	mux.HandleFunc("GET "+Prefix+"run/events", d.serveRunEvents)
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		plainError(w, http.StatusNotFound, "404 not found: panicroom has no page at "+r.URL.Path)
	})
	return mux
}

// serveOwn answers every request under Prefix, after the page rule
// (pageRefusal) that keeps other machines and DNS-rebinding pages from
// reading source and request details.
func (d *Debugger) serveOwn(w http.ResponseWriter, r *http.Request) {
	if why := d.pageRefusal(r); why != "" {
		plainError(w, http.StatusForbidden, "403 forbidden: "+why)
		return
	}
	d.mux.ServeHTTP(w, r)
}

func (d *Debugger) serveIndex(w http.ResponseWriter, r *http.Request) {
	recs := d.registry.list()
	switch negotiate.Request(r) {
	case negotiate.JSON:
		rows := []indexRow{}
		for _, rec := range recs {
			rows = append(rows, rowOf(rec))
		}
		writeJSON(w, rows)
	case negotiate.HTML:
		list := make([]traceback.Summary, len(recs))
		for i, rec := range recs {
			p := rec.panic
			list[i] = traceback.Summary{ID: p.ID, Time: p.Time, Request: requestLine(p), Category: p.Value.Category,
				Message: p.Value.Message, URL: Prefix + "panic/" + p.ID, Live: rec.parked()}
		}
		var buf bytes.Buffer
		if err := d.renderer.Index(&buf, list, d.banners(nil)); err != nil {
			plainError(w, http.StatusInternalServerError, "rendering the list of panics: "+err.Error())
			return
		}
		setPageHeaders(w.Header(), "text/html; charset=utf-8")
		w.Write(encode(r, w.Header(), buf.Bytes()))
	default:
		var b strings.Builder
		if len(recs) == 0 {
			b.WriteString("No panic yet.\n")
		}
		for _, rec := range recs {
			p := rec.panic
			state := "released"
			if rec.parked() {
				state = "live"
			}
			fmt.Fprintf(&b, "%s  %-8s  %s  %s\n\t%s%spanic/%s\n", p.Time.Format("15:04:05"), state, requestLine(p), oneLine(p.Value.Message), "", Prefix, p.ID)
		}
		setPageHeaders(w.Header(), "text/plain; charset=utf-8")
		io.WriteString(w, b.String())
	}
}

func (d *Debugger) servePanic(w http.ResponseWriter, r *http.Request) {
	rec := d.panicOf(w, r)
	if rec == nil {
		return
	}
	var buf bytes.Buffer
	ctype, err := d.renderPanic(&buf, r, rec)
	if err != nil {
		plainError(w, http.StatusInternalServerError, "rendering the panic page: "+err.Error())
		return
	}
	setPageHeaders(w.Header(), ctype)
	w.Write(encode(r, w.Header(), buf.Bytes()))
}

// serveFrameSource answers the source of one frame, which the page leaves
// out of the HTML for frames that start closed.
func (d *Debugger) serveFrameSource(w http.ResponseWriter, r *http.Request) {
	rec := d.panicOf(w, r)
	if rec == nil {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= len(rec.panic.Frames) {
		plainError(w, http.StatusNotFound, fmt.Sprintf("404 not found: no frame %q in this panic, which has frames 0 to %d", r.PathValue("n"), len(rec.panic.Frames)-1))
		return
	}
	writeFragment(w, r, "the frame's source", func(buf *bytes.Buffer) error { return d.renderer.FrameSource(buf, rec.panic, n) })
}

// serveGoroutines answers the groups of the page's Goroutines section,
// which the page leaves out of the HTML until the section is opened.
func (d *Debugger) serveGoroutines(w http.ResponseWriter, r *http.Request) {
	rec := d.panicOf(w, r)
	if rec == nil {
		return
	}
	if rec.panic.Goroutines == nil {
		plainError(w, http.StatusNotFound, "404 not found: no goroutines were recorded for this panic")
		return
	}
	writeFragment(w, r, "the goroutines", func(buf *bytes.Buffer) error { return d.renderer.GoroutineGroups(buf, rec.panic) })
}

// panicOf is the record the request's {id} names, or nil once w has
// answered 404.
func (d *Debugger) panicOf(w http.ResponseWriter, r *http.Request) *record {
	rec := d.registry.get(r.PathValue("id"))
	if rec == nil {
		plainError(w, http.StatusNotFound, "404 not found: no panic with this id (only the last pages are kept, and none survive a restart)")
	}
	return rec
}

// writeFragment answers the HTML render writes, a part of a page fetched
// when it is opened, or a 500 naming what failed.
func writeFragment(w http.ResponseWriter, r *http.Request, what string, render func(*bytes.Buffer) error) {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		plainError(w, http.StatusInternalServerError, "rendering "+what+": "+err.Error())
		return
	}
	setPageHeaders(w.Header(), "text/html; charset=utf-8")
	w.Write(encode(r, w.Header(), buf.Bytes()))
}

// renderPanic writes rec in the format r asks for and returns its
// Content-Type.
func (d *Debugger) renderPanic(w io.Writer, r *http.Request, rec *record) (string, error) {
	if r.URL.Query().Get("format") == "markdown" {
		// Only on request: no client asks for Markdown by Accept.
		return "text/markdown; charset=utf-8", d.renderer.Markdown(w, rec.panic)
	}
	switch negotiate.Request(r) {
	case negotiate.HTML:
		return "text/html; charset=utf-8", d.renderer.HTML(w, traceback.Page{Panic: rec.panic, Banners: d.banners(rec), Meta: d.pageMeta(rec)})
	case negotiate.JSON:
		return "application/json", traceback.JSON(w, rec.panic)
	}
	return "text/plain; charset=utf-8", traceback.Text(w, rec.panic)
}

// banners explains, on top of a page, what the reader cannot otherwise see:
// what happened to the response, and why the frames cannot be inspected.
func (d *Debugger) banners(rec *record) []traceback.Banner {
	out := d.consoleBanners(rec)
	if rec == nil {
		return out
	}
	if rec.note != "" {
		level := "warn"
		if rec.breakpoint || rec.panic.Request == nil {
			level = "info"
		}
		out = append(out, traceback.Banner{Level: level, Text: rec.note})
	}
	rec.mu.Lock()
	released := rec.released
	rec.mu.Unlock()
	lost := rec.lost()
	switch {
	case lost != "":
		out = append(out, traceback.Banner{Level: "warn", Text: "The goroutine was released: " + lost + ". Values shown from its snapshot may be wrong; reproduce the panic to inspect it."})
	case rec.parkNote == consoleOff:
	case rec.parkNote != "":
		out = append(out, traceback.Banner{Level: "info", Text: "The goroutine was not kept for inspection: " + rec.parkNote + "."})
	case !released.IsZero():
		out = append(out, traceback.Banner{Level: "info", Text: "The goroutine was released at " + released.Format("15:04:05") + ": its frames are gone; this page is what was recorded at the panic."})
	}
	return out
}

// static holds the embedded assets with their ETags, and the generated
// chroma stylesheet.
type static struct {
	files   map[string]staticFile
	version string // assetVersion of files
}

// A staticFile is minified and gzipped at its first use: with the standard
// library built -N -l, as a debug build has it, that took 35 ms of New,
// most of what the app's start cost over a bare one, and done by the
// warm-up instead it competed with the app's first requests (the longest
// request during start-up went from 9 to 14-23 ms, make bench figure 6).
// At first use it costs the process's first page 0.1 to 2 ms per asset.
// The ETag, and so the assets' version in the pages' URLs, is the source's:
// the same source minifies the same.
type staticFile struct {
	body  func() []byte // minified
	gz    func() []byte // body gzipped
	ctype string
	etag  string
}

var loadStatic = sync.OnceValues(func() (map[string][]byte, error) {
	out := make(map[string][]byte)
	err := fs.WalkDir(web.FS, "static", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.FS, p)
		out[path.Base(p)] = b
		return err
	})
	return out, err
})

func newStatic(light, dark string) (*static, error) {
	files, err := loadStatic()
	if err != nil {
		return nil, err
	}
	s := &static{files: make(map[string]staticFile)}
	add := func(name string, src []byte) {
		sum := sha256.Sum256(src)
		body := sync.OnceValue(func() []byte { return minifyAsset(name, src) })
		s.files[name] = staticFile{
			body:  body,
			gz:    sync.OnceValue(func() []byte { return gzipped(body()) }),
			ctype: web.ContentType(name),
			etag:  `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
	}
	for name, b := range files {
		add(name, b)
	}
	add("chroma.css", traceback.StyleCSS(light, dark))
	s.version = assetVersion(s.files)
	return s, nil
}

func (d *Debugger) serveStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := d.static.files[r.PathValue("name")]
	if !ok {
		plainError(w, http.StatusNotFound, "404 not found: no such panicroom asset")
		return
	}
	setPageHeaders(w.Header(), f.ctype)
	// Assets change only with the binary: a versioned URL is kept,
	// any other revalidated cheaply by ETag.
	w.Header().Set("Cache-Control", d.static.cacheControl(r))
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if acceptsGzip(r) {
		if gz := f.gz(); len(gz) < len(f.body()) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz)
			return
		}
	}
	w.Write(f.body())
}

// noRequest stands for the request of a goroutine that served none, in the
// log and the index (its HTML, text and JSON alike, and the live rows).
const noRequest = "none (a goroutine of the app's)"

// requestLine is the request a panic's index row names; for a goroutine
// that served none (Go, Recover, Break(nil)) it says so, where an empty cell
// would look like a panic whose request was lost.
func requestLine(p *traceback.Panic) string {
	if p.Request == nil {
		return noRequest
	}
	return p.Request.Method + " " + p.Request.URL
}

func oneLine(s string) string {
	s, _, cut := strings.Cut(s, "\n")
	if cut {
		s += " …"
	}
	return s
}
