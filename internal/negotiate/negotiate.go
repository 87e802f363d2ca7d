// Package negotiate picks the view of a page for a request: HTML for
// browsers, plain text for terminals (curl sends */*), JSON for API
// clients. The traceback pages and panicroom run's pages choose alike.
package negotiate

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Format is a page's view.
type Format int

const (
	Text Format = iota
	HTML
	JSON
)

// Request picks the view for r: an explicit ?format= wins; otherwise the
// Accept header with q-values. Clients that do not name HTML (curl sends
// */*) get text, which is what a terminal wants.
func Request(r *http.Request) Format {
	switch r.URL.Query().Get("format") {
	case "text":
		return Text
	case "json":
		return JSON
	case "html":
		return HTML
	}
	return Accept(r.Header.Values("Accept"))
}

func Accept(values []string) Format {
	var html, json, text float64 = -1, -1, -1
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, q, ok := Weighted(part)
			if !ok {
				continue
			}
			switch mt {
			case "text/html", "application/xhtml+xml":
				html = max(html, q)
			case "application/json":
				json = max(json, q)
			case "text/plain":
				text = max(text, q)
			}
		}
	}
	switch {
	case html > 0 && html >= json && html >= text:
		return HTML
	case json > 0 && json >= text:
		return JSON
	}
	return Text
}

// Weighted parses one element of an Accept-style header ("text/html;q=0.8",
// "gzip;q=0") into its lower-cased name and quality, 1 when not given.
func Weighted(part string) (name string, q float64, ok bool) {
	name, params, err := mime.ParseMediaType(strings.TrimSpace(part))
	if err != nil {
		return "", 0, false
	}
	q = 1.0
	if s, ok := params["q"]; ok {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f <= 1 {
			q = f
		}
	}
	return name, q, true
}
