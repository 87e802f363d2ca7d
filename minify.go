//go:build !panicroom_off

package panicroom

import (
	"bytes"
	"path"
)

// The assets are written to be read: a third of their bytes are comments
// and indentation, which every page paid for. They are served without them,
// by two transformations simple enough to be obviously safe for our files
// (a test holds every asset to them): nothing but comments and whitespace
// is removed, and no line break in script, so that automatic semicolon
// insertion sees the same program.

// minifyAsset returns b as served.
func minifyAsset(name string, b []byte) []byte {
	switch path.Ext(name) {
	case ".css":
		return minifyCSS(b)
	case ".js":
		return minifyJS(b)
	}
	return b
}

// minifyJS drops the lines that are only a // comment, blank lines and
// each line's indentation. It keeps every line break, and assumes (as a
// test checks) no template literal, the one place where a line could start
// inside a string.
func minifyJS(b []byte) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || bytes.HasPrefix(line, []byte("//")) {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// minifyCSS drops comments, and whitespace where CSS ignores it: around
// { } ; , and >, after :, and at the start; any other run of whitespace
// becomes one space (a descendant combinator, a value's parts). Strings
// are copied as they are.
func minifyCSS(b []byte) []byte {
	out := make([]byte, 0, len(b))
	space := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"' || c == '\'':
			if space && !dropsSpace(last(out)) {
				out = append(out, ' ')
			}
			space = false
			j := i + 1
			for j < len(b) && b[j] != c && b[j] != '\n' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j, len(b)-1)
			out = append(out, b[i:j+1]...)
			i = j
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			end := bytes.Index(b[i+2:], []byte("*/"))
			if end < 0 {
				return out
			}
			i += end + 3
			space = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			space = true
		default:
			if space && len(out) > 0 && !dropsSpace(last(out)) && !dropsSpaceBefore(c) {
				out = append(out, ' ')
			}
			space = false
			out = append(out, c)
		}
	}
	return out
}

func last(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[len(b)-1]
}

// dropsSpace: whitespace after these is never significant.
func dropsSpace(c byte) bool {
	return c == 0 || c == '{' || c == '}' || c == ';' || c == ',' || c == '>' || c == ':'
}

// dropsSpaceBefore: nor before these (not ':', which after a space starts
// a pseudo-class of any descendant).
func dropsSpaceBefore(c byte) bool {
	return c == '{' || c == '}' || c == ';' || c == ',' || c == '>'
}
