package traceback

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Request is what the views show of the request that panicked.
type Request struct {
	Method     string  `json:"method"`
	URL        string  `json:"url"`
	Proto      string  `json:"proto"`
	Host       string  `json:"host"`
	RemoteAddr string  `json:"remoteAddr"`
	Header     []Field `json:"header"`
	Query      []Field `json:"query,omitempty"`
	// Form holds the parsed form values, present only when the handler had
	// parsed them itself: reading the body here would consume it.
	Form []Field `json:"form,omitempty"`
}

// Field is one name and value; a name with several values appears once per
// value.
type Field struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Masked bool   `json:"masked,omitempty"`
}

// Mask replaces every secret value.
const Mask = "••••••••"

// sensitive matches names whose values must not be shown, as Django's
// technical 500 page does: API keys, auth tokens, secrets, passwords,
// signatures.
var sensitive = regexp.MustCompile(`(?i)api|auth|token|key|secret|pass|signature`)

var alwaysMasked = []string{"Authorization", "Cookie", "Set-Cookie", "Proxy-Authorization"}

// RequestOf records r without reading its body.
func RequestOf(r *http.Request) *Request {
	out := &Request{
		Method:     r.Method,
		URL:        maskURL(r.URL),
		Proto:      r.Proto,
		Host:       r.Host,
		RemoteAddr: r.RemoteAddr,
		Header:     fields(r.Header, true),
		Query:      fields(r.URL.Query(), false),
	}
	if r.Form != nil {
		out.Form = fields(r.Form, false)
	}
	return out
}

// maskURL returns the URL with masked query values and no password, so the
// request line on the page leaks nothing the query table hides.
func maskURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		if _, ok := c.User.Password(); ok {
			c.User = url.UserPassword(c.User.Username(), Mask)
		}
	}
	if c.RawQuery != "" {
		q := c.Query()
		masked := false
		for k := range q {
			if sensitive.MatchString(k) {
				for i := range q[k] {
					q[k][i] = Mask
				}
				masked = true
			}
		}
		if masked {
			// The mask is shown as it is, not percent-encoded: the line is
			// read by people (and pasted into issues), never requested.
			c.RawQuery = strings.ReplaceAll(q.Encode(), url.QueryEscape(Mask), Mask)
		}
	}
	return c.String()
}

func fields[M ~map[string][]string](m M, header bool) []Field {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []Field
	for _, k := range names {
		mask := sensitive.MatchString(k) ||
			(header && slices.ContainsFunc(alwaysMasked, func(s string) bool { return strings.EqualFold(s, k) }))
		for _, v := range m[k] {
			if mask {
				v = Mask
			}
			out = append(out, Field{Name: k, Value: v, Masked: mask})
		}
	}
	return out
}
