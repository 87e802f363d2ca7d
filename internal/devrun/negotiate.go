// This file is a copy of the root package's negotiate.go (unexported there):
// the runner's pages answer the same Accept headers the same way.

package devrun

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

type format int

const (
	formatText format = iota
	formatHTML
	formatJSON
)

// negotiate picks the view for r: an explicit ?format= wins; otherwise the
// Accept header with q-values. Clients that do not name HTML (curl sends
// */*) get text, which is what a terminal wants.
func negotiate(r *http.Request) format {
	switch r.URL.Query().Get("format") {
	case "text":
		return formatText
	case "json":
		return formatJSON
	case "html":
		return formatHTML
	}
	return negotiateAccept(r.Header.Values("Accept"))
}

func negotiateAccept(values []string) format {
	var html, json, text float64 = -1, -1, -1
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, q, ok := weighted(part)
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
		return formatHTML
	case json > 0 && json >= text:
		return formatJSON
	}
	return formatText
}

// weighted parses one element of an Accept-style header ("text/html;q=0.8",
// "gzip;q=0") into its lower-cased name and quality, 1 when not given.
func weighted(part string) (name string, q float64, ok bool) {
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
