//go:build !panicroom_off

package panicroom

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/panicroom/panicroom/internal/park"
	"github.com/panicroom/panicroom/internal/traceback"
)

// finish builds the panic's record and answers the request. It runs on its
// own goroutine while the panicking one waits in its Spot, and tells that
// one, through j.after and the Spot, what to do. noPark, when set, is why
// the goroutine will not be parked whatever else holds.
func (d *Debugger) finish(j *job, noPark string) {
	defer startAnswering()()
	// The collector stays off, from the recovery (holdAtRecovery), until
	// the debugger has told us which objects the dead frames hold
	// (park.Parked.Keep), or until this goroutine knows it will not park
	// them; a panic known not to park from the start (a burst, say) does
	// not hold it at all.
	endHold, distrust := func() {}, ""
	if noPark == "" {
		// Only a goroutine that may park has frames to distrust: a burst's
		// panics skip the read of the collector's statistics.
		distrust = gcNearPanic(j)
		endHold = j.hold // holdAtRecovery's: answer parks only a panic it held
	}
	handedOver := false
	defer func() {
		if !handedOver {
			endHold()
		}
	}()
	rec := &record{}
	defer func() {
		if e := recover(); e != nil {
			// panicroom must never take the server down, not even when its own
			// page fails: say so in plain text if the response is still ours.
			d.cfg.logger.Error("panicroom: rendering a panic page failed", "error", fmt.Sprint(e))
			if !j.w.started && !j.w.hijacked {
				plainError(j.w.rw, http.StatusInternalServerError, "500 Internal Server Error\n\nThe handler panicked and panicroom could not render its page: "+fmt.Sprint(e))
			}
			if j.spot != nil && !rec.parked() {
				j.spot.Release()
			}
		}
	}()

	p := d.capture(j)
	rec.panic = p
	pageURL := d.absoluteURL(j.r, p.ID)

	why := noPark
	if why == "" {
		why = d.parkRefusal(j)
	}

	// A record is immutable once the registry has it (page requests read
	// it without a lock), so each branch publishes it only when its
	// parkNote is final.
	published := false
	switch {
	case j.w == nil:
		// A goroutine of the app's own (Go, Recover): no client waits.
		rec.note = "This goroutine was serving no request (it was started with panicroom.Go, or recovered by panicroom.Recover): the page was sent to nobody, and the log has its address."
		d.log(p, nil, pageURL, "")
	case j.w.hijacked:
		// A hijacked connection (a websocket, say) belongs to the handler:
		// nothing may be written to it.
		rec.note = "The handler had hijacked its connection, so no page was sent to the client."
		d.log(p, j.r, pageURL, "the connection was hijacked; no page sent")
	case j.w.started:
		// A response that has begun cannot become an error page. Break it so
		// that the client sees a failed response, never a complete-looking
		// truncated one: close an HTTP/1 connection, or let net/http reset an
		// HTTP/2 stream through ErrAbortHandler.
		// An HTTP/1 connection is closed here, so that the middleware outside
		// panicroom sees a response that ends normally (its access log shows
		// the request); anything else aborts through http.ErrAbortHandler on
		// the request's goroutine (an HTTP/2 stream is reset).
		rec.note = "The response had already started when the handler panicked, so the client got a broken response instead of this page."
		j.after.Store(afterAbort)
		if j.r.ProtoMajor == 1 {
			if c, _, err := j.w.hijack(); err == nil {
				c.Close()
				j.after.Store(afterReturn)
			}
		}
		d.log(p, j.r, pageURL, "the response had already started; aborted")
	default:
		// The page must resolve before it is sent, so the record is
		// published here, complete: nothing below writes to it.
		rec.parkNote = why
		d.registry.add(rec)
		published = true
		err := d.writePage(j, rec)
		if err != nil && isClientGone(err) {
			d.cfg.logger.Info("panicroom: the client went away before the traceback page was sent", "page", pageURL, "error", err)
		} else if err != nil {
			d.cfg.logger.Error("panicroom: writing the traceback page", "page", pageURL, "error", err)
		}
		d.log(p, j.r, pageURL, "")
	}

	if !published {
		rec.parkNote = why
		d.registry.add(rec)
	}
	// A reason not to park is always set when there is no spot (noPark, or
	// parkRefusal's first check).
	if why != "" {
		if j.spot != nil {
			j.spot.Release()
		}
		return
	}
	// The answer is complete: the request's goroutine may return through
	// the middleware outside panicroom while this one is parked.
	j.answered()
	handedOver = true
	d.registry.park(rec, park.Dead(j.spot, endHold, j.cycles, distrust, func(why string) { d.loseFrames(rec, why) }))
}

// parkRefusal says why a goroutine should not be parked, or "" if it may.
func (d *Debugger) parkRefusal(j *job) string {
	if j.spot == nil {
		return "no spot to park in"
	}
	return d.parkPolicy()
}

// parkPolicy is the part of parkRefusal that does not depend on the panic.
// recoverPanic asks it before the goroutine blocks a thread in read(2), and
// finish again when it decides, since the answer can change meanwhile.
func (d *Debugger) parkPolicy() string {
	if d.cfg.maxParked == 0 {
		return "parking is off (WithMaxParked(0))"
	}
	if d.closed.Load() {
		return "panicroom is shutting down"
	}
	if d.registry.storm() {
		return fmt.Sprintf("%d panics were kept in the last %v, and each costs the app a stop for the debugger's snapshot; this one was answered without keeping it", d.cfg.maxParked, stormWindow)
	}
	if d.parkOff != nil {
		return d.parkOff()
	}
	return ""
}

// capture turns the raw job into the data model.
func (d *Debugger) capture(j *job) *traceback.Panic {
	gs := d.goroutines(j) // first: as near the panic as this goroutine gets
	frames := traceback.FramesOf(j.pcs, ownFrames...)
	d.classifier.Classify(frames)
	for i := range frames {
		ctx, err := d.sources.Context(frames[i].File, frames[i].Line, d.cfg.contextLines)
		if err != nil {
			frames[i].SourceErr = err.Error()
			continue
		}
		frames[i].Source = ctx
	}
	p := &traceback.Panic{
		ID:        newID(),
		Time:      time.Now(),
		Goroutine: j.goroutine,
		Value:     traceback.ValueOf(j.value),
		Frames:    frames,
		Request:   requestOf(j.r),
		Build:     traceback.BuildInfo(),
	}
	d.complete(p, j, gs)
	return p
}

// writePage writes the page in the format the client asked for, complete:
// Content-Length and a flush, so the client has all of it at once, before
// the request's goroutine returns through the outer middleware.
func (d *Debugger) writePage(j *job, rec *record) error {
	body, err := d.pageBody(j, rec)
	if err != nil {
		return err
	}
	h := j.w.rw.Header()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	j.w.rw.WriteHeader(http.StatusInternalServerError)
	if _, err := j.w.rw.Write(body); err != nil {
		return err
	}
	return j.w.flush()
}

// pageBody renders and encodes j's page and sets the response's headers
// for it. Rendering is CPU work: more pages at once than there are CPUs
// only adds their buffers and compressors to the heap (a thousand at once
// in a burst of panics), so it waits its turn; writePage's network write
// does not.
func (d *Debugger) pageBody(j *job, rec *record) ([]byte, error) {
	d.renders <- struct{}{}
	defer func() { <-d.renders }()
	var buf bytes.Buffer
	ctype := "text/plain; charset=utf-8"
	if why := d.pageRefusal(j.r); why == "" {
		var err error
		if ctype, err = d.renderPanic(&buf, j.r, rec); err != nil {
			return nil, err
		}
	} else {
		// The page shows source, the request's headers and the console's
		// secret: like every page under Prefix, it follows the page rule,
		// or another machine, or a site that reached the app by DNS
		// rebinding, could read it by making any handler panic.
		fmt.Fprintf(&buf, "500 Internal Server Error\n\nThe handler panicked. %s\n", why)
	}
	h := j.w.rw.Header()
	for k := range h {
		// Whatever the handler meant to send does not describe this page.
		delete(h, k)
	}
	setPageHeaders(h, ctype)
	if rec.panic.URL != "" {
		h.Set(PageHeader, rec.panic.URL)
	}
	return encode(j.r, h, buf.Bytes()), nil
}

func requestOf(r *http.Request) *traceback.Request {
	if r == nil {
		return nil
	}
	return traceback.RequestOf(r)
}

func (d *Debugger) log(p *traceback.Panic, r *http.Request, pageURL, note string) {
	request := noRequest
	if r != nil {
		request = r.Method + " " + r.URL.RequestURI()
	}
	attrs := []any{
		slog.String("value", p.Value.Message),
		slog.String("type", p.Value.Type),
		slog.String("request", request),
		slog.String("page", pageURL),
	}
	if len(p.Frames) > 0 {
		f := p.Frames[0]
		for _, fr := range p.Frames {
			if fr.Kind == traceback.App {
				f = fr
				break
			}
		}
		attrs = append(attrs, slog.String("at", fmt.Sprintf("%s:%d", f.File, f.Line)))
	}
	if note != "" {
		attrs = append(attrs, slog.String("note", note))
	}
	d.cfg.logger.Error("panic: "+p.Value.Message, attrs...)
}

// absoluteURL is the page's address as the request reached the app, or,
// for a panic with no request, as the first request did (a path alone
// before any).
func (d *Debugger) absoluteURL(r *http.Request, id string) string {
	if r == nil {
		return d.baseURL() + Prefix + "panic/" + id
	}
	return originOf(r) + Prefix + "panic/" + id
}

// originOf is the scheme and host r reached the app at.
func originOf(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func isClientGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, http.ErrHandlerTimeout)
}
