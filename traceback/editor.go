package traceback

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
)

// Editor names how file:line links open: "vscode" (the default), "goland",
// "cursor", "zed", "none", or a custom URL template containing {file} and
// {line}, such as "idea://open?file={file}&line={line}".
type Editor string

var editorTemplates = map[Editor]string{
	"vscode": "vscode://file{file}:{line}",
	"cursor": "cursor://file{file}:{line}",
	"zed":    "zed://file{file}:{line}",
	"goland": "goland://open?file={file}&line={line}",
}

// Validate reports whether e can produce links: a known name or a template
// with {file} whose scheme cannot run script in the page.
func (e Editor) Validate() error {
	if e == "" || e == "none" {
		return nil
	}
	if _, ok := editorTemplates[e]; ok {
		return nil
	}
	t := string(e)
	if !strings.Contains(t, "{file}") {
		return fmt.Errorf("editor %q: want vscode, goland, cursor, zed, none, or a URL template with {file} and {line}", t)
	}
	u, err := url.Parse(strings.NewReplacer("{file}", "/f", "{line}", "1").Replace(t))
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("editor template %q is not a URL with a scheme", t)
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "data", "vbscript", "blob", "file":
		return fmt.Errorf("editor template %q: scheme %s is not allowed", t, u.Scheme)
	}
	return nil
}

// URL returns the link that opens file at line, or "" when links are off or
// the editor is invalid. The result is a template.URL because html/template
// would otherwise replace every non-http scheme with "#ZgotmplZ"; Validate
// is what makes that conversion safe, and the file name is escaped.
func (e Editor) URL(file string, line int) template.URL {
	if e == "none" || file == "" || e.Validate() != nil {
		return ""
	}
	t, ok := editorTemplates[e]
	if e == "" {
		t, ok = editorTemplates["vscode"], true
	}
	if !ok {
		t = string(e)
	}
	if !strings.HasPrefix(file, "/") && strings.Contains(t, "file{file}") {
		file = "/" + file // vscode://file expects an absolute path; Windows drives too
	}
	escaped := (&url.URL{Path: file}).EscapedPath()
	if strings.Contains(t, "?") && strings.Index(t, "?") < strings.Index(t, "{file}") {
		escaped = url.QueryEscape(file)
	}
	return template.URL(strings.NewReplacer("{file}", escaped, "{line}", strconv.Itoa(line)).Replace(t))
}
