package traceback

import (
	"errors"
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
	u, err := url.Parse(expandEditor(t, "/f", "1"))
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
	return template.URL(expandEditor(t, escaped, strconv.Itoa(line)))
}

// expandEditor is strings.NewReplacer("{file}", file, "{line}", line).Replace(t)
// without building a replacer for each of a page's hundred links, which
// was a sixth of a page's render in a -N -l build.
func expandEditor(t, file, line string) string {
	var b strings.Builder
	b.Grow(len(t) + len(file) + len(line))
	for i := 0; i < len(t); {
		switch {
		case strings.HasPrefix(t[i:], "{file}"):
			b.WriteString(file)
			i += len("{file}")
		case strings.HasPrefix(t[i:], "{line}"):
			b.WriteString(line)
			i += len("{line}")
		default:
			b.WriteByte(t[i])
			i++
		}
	}
	return b.String()
}

// EditorPathsEnvVar is the environment variable that maps the app's file
// paths to the editor's: "from=to" pairs separated by commas, such as
// "/app=/Users/me/src/shop". See [ParseEditorPaths].
const EditorPathsEnvVar = "PANICROOM_EDITOR_PATHS"

// An EditorPath rewrites the files under From, as the app's binary names
// them, to the same files under To, where the editor finds them: an app
// built in a container (/app) edited on its host (/Users/me/src/shop).
type EditorPath struct{ From, To string }

// EditorPaths rewrite the files of editor links, and only those: the page
// still shows the path the binary records.
type EditorPaths []EditorPath

// ParseEditorPath parses one "from=to" pair. From is a path prefix,
// matched whole path elements at a time, so /app matches /app/main.go but
// not /application/main.go; it may be a module path, for a binary built
// with -trimpath. To must be absolute: "/Users/me/src/shop", or for an
// editor on Windows "C:/Users/me/shop" (forward slashes, which editors'
// URL handlers accept).
func ParseEditorPath(pair string) (EditorPath, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(pair), "=")
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	switch {
	case !ok:
		return EditorPath{}, fmt.Errorf("editor path %q: want from=to, such as /app=/Users/me/src/shop", pair)
	case from == "" || to == "":
		return EditorPath{}, fmt.Errorf("editor path %q: both sides of = must be paths, such as /app=/Users/me/src/shop", pair)
	case !absolute(to):
		return EditorPath{}, fmt.Errorf("editor path %q: %q is not an absolute path (such as /Users/me/src/shop or C:/Users/me/shop)", pair, to)
	}
	if from != "/" {
		from = strings.TrimRight(from, "/")
	}
	if len(to) > 1 && !strings.HasSuffix(to, ":/") {
		to = strings.TrimRight(to, "/")
	}
	return EditorPath{From: from, To: to}, nil
}

func absolute(p string) bool {
	if strings.HasPrefix(p, "/") {
		return true
	}
	// A Windows drive: C:/ or C:\.
	return len(p) >= 3 && (p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z') && p[1] == ':' && (p[2] == '/' || p[2] == '\\')
}

// ParseEditorPaths parses pairs separated by commas, in the syntax of
// [EditorPathsEnvVar]; empty entries are skipped. It returns the valid
// pairs, and an error naming every invalid one.
func ParseEditorPaths(list string) (EditorPaths, error) {
	var (
		out  EditorPaths
		errs []error
	)
	for _, e := range strings.Split(list, ",") {
		if strings.TrimSpace(e) == "" {
			continue
		}
		p, err := ParseEditorPath(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// Map returns file under the To of the longest From it is under, or file
// itself when none matches. Between two equal Froms the later wins, so
// that pairs appended to a list override it.
func (m EditorPaths) Map(file string) string {
	best := -1
	for i, p := range m {
		if under(file, p.From) && (best < 0 || len(p.From) >= len(m[best].From)) {
			best = i
		}
	}
	if best < 0 {
		return file
	}
	p := m[best]
	rest := strings.TrimPrefix(file, p.From)
	if p.From == "/" {
		rest = file
	}
	if rest == "" {
		return p.To
	}
	return strings.TrimSuffix(p.To, "/") + "/" + strings.TrimPrefix(rest, "/")
}

func under(file, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(file, "/")
	}
	return file == dir || strings.HasPrefix(file, dir+"/")
}

// SetEditorPaths makes r's editor links open files through m. Call it
// before r renders anything.
func (r *Renderer) SetEditorPaths(m EditorPaths) { r.editorPaths = m }
