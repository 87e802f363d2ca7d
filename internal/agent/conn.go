package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

// The pipes to one agent process, and the requests on them: one in flight
// at a time, each bounded, an answer matched to its request by ID.

// conn is one live agent process.
type conn struct {
	cmd *exec.Cmd
	w   *os.File
	r   *os.File

	mu      sync.Mutex
	pending map[uint64]chan wire.Answer
	// framesSent holds the panics whose frames this agent was sent.
	framesSent map[string]bool
	dead       chan struct{}
	once       sync.Once
}

func (c *conn) forgetFrames(panicID string) {
	c.mu.Lock()
	delete(c.framesSent, panicID)
	c.mu.Unlock()
}

func (c *conn) read(dec *json.Decoder) {
	for {
		var ans wire.Answer
		if err := dec.Decode(&ans); err != nil {
			break
		}
		c.mu.Lock()
		ch := c.pending[ans.ID]
		delete(c.pending, ans.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- ans
		}
	}
	c.once.Do(func() { close(c.dead) })
}

func (c *conn) kill() {
	if c.cmd.Process != nil {
		c.cmd.Process.Kill()
	}
}

func (c *conn) wait() {
	c.cmd.Wait()
	c.w.Close()
	c.r.Close()
	c.once.Do(func() { close(c.dead) })
}

func (c *conn) send(req wire.Request) (chan wire.Answer, error) {
	ch := make(chan wire.Answer, 1)
	c.mu.Lock()
	c.pending[req.ID] = ch
	if sc := req.Scope(); sc != nil && len(sc.Frames) > 0 {
		if c.framesSent[sc.Panic] {
			req = req.WithFramesSent()
		} else {
			c.framesSent[sc.Panic] = true
		}
	}
	c.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if _, err := c.w.Write(b); err != nil {
		return nil, err
	}
	return ch, nil
}

// send is request; resent is set when it sends req again because the agent
// asked for its frames. When live is not nil, the request is dropped if it
// says no once the request's turn has come: a snapshot queued behind others
// during a burst is often for a panic released meanwhile, and looking for
// a goroutine that is gone costs the agent a scan of every goroutine with
// the app stopped.
func (a *Client) send(ctx context.Context, req wire.Request, resent bool, live func() bool) (wire.Answer, error) {
	st := a.Status()
	if st.State != debugapi.StateAttached {
		if st.State == debugapi.StateAttaching && st.AgentPID == 0 {
			// wait for the (re)attach, bounded by ctx
			a.mu.Lock()
			ready := a.connReady
			a.mu.Unlock()
			select {
			case <-ready:
			case <-ctx.Done():
				return wire.Answer{}, &debugapi.Error{Code: debugapi.CodeUnavailable, Msg: st.Reason}
			case <-time.After(a.opts.Timeout):
				return wire.Answer{}, &debugapi.Error{Code: debugapi.CodeUnavailable, Msg: st.Reason}
			}
			st = a.Status()
		}
		if st.State != debugapi.StateAttached {
			return wire.Answer{}, &debugapi.Error{Code: debugapi.CodeUnavailable, Msg: joinReason(st)}
		}
	}
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return wire.Answer{}, debugapi.Errorf(debugapi.CodeTimeout, "waiting for an earlier request: %w", ctx.Err())
	}
	if live != nil && !live() {
		<-a.sem
		return wire.Answer{}, debugapi.Errorf(debugapi.CodeReleased, "the panic was released before its turn with the debugger")
	}
	a.mu.Lock()
	c := a.conn
	a.mu.Unlock()
	if c == nil {
		<-a.sem
		return wire.Answer{}, &debugapi.Error{Code: debugapi.CodeUnavailable, Msg: joinReason(a.Status())}
	}
	req.ID = a.nextID.Add(1)
	req.Timeout = a.opts.Timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < req.Timeout {
		req.Timeout = time.Until(dl)
	}
	ch, err := c.send(req)
	if err != nil {
		<-a.sem
		return wire.Answer{}, debugapi.Errorf(debugapi.CodeAgentDied, "sending to the agent: %w", err)
	}
	// The agent enforces the deadline itself; the grace covers a slow
	// stop. Past it the agent is presumed hung and is killed.
	grace := time.NewTimer(req.Timeout + 5*time.Second)
	defer grace.Stop()
	sent := time.Now()
	defer func() {
		// Most requests stop the whole app while they run: one that takes
		// seconds is a pause every request of the app felt, and the log is
		// where its cause can be found.
		if took := time.Since(sent); took > slowRequest {
			a.opts.Logger.Warn("panicroom: a debugger request stopped the app for long", slog.String("op", req.Op()), slog.String("panic", panicOf(req)),
				slog.Duration("took", took.Round(time.Millisecond)))
		}
	}()
	select {
	case ans := <-ch:
		<-a.sem
		if ans.Stopped {
			a.setStatus(func(s *debugapi.Status) { s.Stops++ })
		}
		if ans.Err != nil && ans.Err.Code == wire.CodeNeedFrames && !resent {
			c.forgetFrames(panicOf(req))
			return a.send(ctx, req, true, live)
		}
		if ans.Err != nil {
			return ans, ans.Err
		}
		return ans, nil
	case <-c.dead:
		<-a.sem
		return wire.Answer{}, debugapi.Errorf(debugapi.CodeAgentDied, "the agent died during the request; it is being restarted")
	case <-grace.C:
		c.kill()
		<-a.sem
		return wire.Answer{}, debugapi.Errorf(debugapi.CodeTimeout, "the agent did not answer within %v; it was restarted", req.Timeout+5*time.Second)
	case <-ctx.Done():
		go func() {
			select {
			case <-ch:
			case <-c.dead:
			}
			<-a.sem
		}()
		return wire.Answer{}, debugapi.Errorf(debugapi.CodeTimeout, "%w", ctx.Err())
	}
}

// request sends one request and waits for its answer. Requests are
// serialized: the agent answers one at a time, and a request whose caller
// gave up keeps the slot until its answer arrives, so the next one is not
// answered with the old answer's timing.
func (a *Client) request(ctx context.Context, req wire.Request) (wire.Answer, error) {
	return a.send(ctx, req, false, nil)
}

// slowRequest is how long a debugger request may take before it is logged.
const slowRequest = 2 * time.Second

func joinReason(st debugapi.Status) string {
	if st.Fix == "" {
		return st.Reason
	}
	return st.Reason + "; " + st.Fix
}

// panicOf is the panic req is about, "" for none.
func panicOf(req wire.Request) string {
	if sc := req.Scope(); sc != nil {
		return sc.Panic
	}
	return ""
}
