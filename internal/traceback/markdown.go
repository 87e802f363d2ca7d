package traceback

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits that keep Markdown sized for an issue or a chat message: the
// failing spot and the way to it, not the whole page.
const (
	mdFrames     = 6    // app frames with their source
	mdContext    = 2    // lines either side of each frame's line
	mdMessage    = 2000 // runes of the panic's message
	mdChain      = 10   // links of the error chain, all levels together
	mdFields     = 25   // request headers and form fields
	mdValue      = 200  // runes of one header or form value
	mdGoroutines = 5    // goroutine groups named
)

// Markdown writes p as a Markdown block for an issue or an assistant: the
// panic, its error chain, the app's frames with their source lines, the
// request (secrets masked as on the page: the model holds only masked
// values), the build, and the largest goroutine groups. Paths are shown
// relative to their module, as on the page, so no home directory leaks
// into a public issue. Every piece of the app's text is in a code span or
// a fence longer than any backtick run in it, so a message cannot break
// the block's formatting.
func (r *Renderer) Markdown(w io.Writer, p *Panic) error {
	bw := bufio.NewWriter(w)
	head := truncate("panic: "+p.Value.Message, mdMessage)
	if strings.Contains(head, "\n") {
		bw.WriteString("### panic\n\n" + fence(head, "text") + "\n")
	} else {
		bw.WriteString("### " + codeSpan(head) + "\n\n")
	}
	fmt.Fprintf(bw, "%s (%s), recovered by panicroom at %s\n", codeSpan(p.Value.Type), p.Value.Category, p.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	if p.Value.MethodPanic != "" {
		fmt.Fprintf(bw, "\nAsking the value for its text panicked too: %s\n", codeSpan(p.Value.MethodPanic))
	}
	if len(p.Value.Chain) > 0 {
		bw.WriteString("\n**Error chain**\n\n")
		n := 0
		mdChainList(bw, p.Value.Chain, "", &n)
	}

	var app []Frame
	for _, f := range p.Frames {
		if f.Kind == App {
			app = append(app, f)
		}
	}
	if len(app) == 0 {
		// Nothing of the app's own: the innermost frames say where.
		app = p.Frames[:min(len(p.Frames), 3)]
	}
	if len(app) > 0 {
		fmt.Fprintf(bw, "\n**Traceback** (%s, innermost first; %d frames in all)\n", plural(min(len(app), mdFrames), "app frame"), len(p.Frames))
	}
	for i, f := range app {
		if i == mdFrames {
			fmt.Fprintf(bw, "\n…and %s more\n", plural(len(app)-mdFrames, "app frame"))
			break
		}
		fmt.Fprintf(bw, "\n%s at %s\n", codeSpan(f.Function), codeSpan(fmt.Sprintf("%s:%d", r.ShortPath(f.File), f.Line)))
		if f.Source == nil {
			continue
		}
		var b strings.Builder
		width := len(fmt.Sprint(f.Line + mdContext))
		for _, l := range f.Source.Lines() {
			if d := l.Number - f.Line; d < -mdContext || d > mdContext {
				continue
			}
			mark := " "
			if l.Current {
				mark = ">"
			}
			fmt.Fprintf(&b, "%s %*d | %s\n", mark, width, l.Number, strings.ReplaceAll(l.Text, "\t", "    "))
		}
		if b.Len() > 0 {
			bw.WriteString("\n" + fence(b.String(), "go"))
		}
	}

	if rq := p.Request; rq != nil {
		fmt.Fprintf(bw, "\n**Request** %s %s\n\n", codeSpan(rq.Method+" "+rq.URL), rq.Proto)
		fields := append(append([]Field{}, rq.Header...), rq.Form...)
		for i, f := range fields {
			if i == mdFields {
				fmt.Fprintf(bw, "- …and %d more\n", len(fields)-mdFields)
				break
			}
			kind := ""
			if i >= len(rq.Header) {
				kind = "form "
			}
			v := codeSpan(truncate(f.Value, mdValue))
			if f.Masked {
				v = f.Value + " (masked)"
			}
			fmt.Fprintf(bw, "- %s%s: %s\n", kind, codeSpan(f.Name), v)
		}
	}

	if b := p.Build; b != nil {
		parts := []string{codeSpan(b.GoVersion + " " + b.OS + "/" + b.Arch)}
		if b.MainModule != "" {
			parts = append(parts, codeSpan(strings.TrimSpace(b.MainModule+" "+b.MainVersion)))
		}
		if b.Revision != "" {
			rev := "revision " + codeSpan(b.Revision)
			if b.Modified {
				rev += " (modified)"
			}
			parts = append(parts, rev)
		}
		if b.GCFlags != "" {
			parts = append(parts, codeSpan("-gcflags="+b.GCFlags))
		}
		fmt.Fprintf(bw, "\n**Build** %s\n", strings.Join(parts, " · "))
	}

	if g := p.Goroutines; g != nil && g.Skipped != "" {
		fmt.Fprintf(bw, "\n**Goroutines** %s\n", g.Skipped)
	} else if g != nil {
		fmt.Fprintf(bw, "\n**Goroutines** %d at the panic, in %s of identical stacks\n\n", g.Total, plural(len(g.Groups)+g.OmittedGroups, "group"))
		n := 0
		for _, gg := range g.Groups {
			if gg.Panicking {
				continue
			}
			if n == mdGoroutines {
				bw.WriteString("- …\n")
				break
			}
			n++
			state := gg.State
			if w := gg.Wait(); w != "" {
				state += ", " + w
			}
			at := ""
			for _, f := range gg.Frames {
				if f.Kind == App {
					at = fmt.Sprintf(" in %s at %s", codeSpan(f.Function), codeSpan(fmt.Sprintf("%s:%d", r.ShortPath(f.File), f.Line)))
					break
				}
			}
			if at == "" && len(gg.Frames) > 0 {
				at = " in " + codeSpan(gg.Frames[0].Function)
			}
			fmt.Fprintf(bw, "- %d × %s%s\n", gg.Count, state, at)
		}
	}
	return bw.Flush()
}

func mdChainList(bw *bufio.Writer, chain []Link, indent string, n *int) {
	for _, l := range chain {
		if *n == mdChain {
			bw.WriteString(indent + "- …\n")
			return
		}
		*n++
		msg := l.Message
		if msg == "" {
			msg = fmt.Sprintf("%d errors joined", len(l.Branches))
		}
		fmt.Fprintf(bw, "%s- %s (%s)\n", indent, codeSpan(truncate(msg, mdValue)), codeSpan(l.Type))
		for _, b := range l.Branches {
			mdChainList(bw, b, indent+"  ", n)
		}
	}
}

// codeSpan puts s in a Markdown code span, delimited by a backtick run
// longer than any in s (CommonMark's rule), padded when s starts or ends
// with a backtick. Newlines become spaces, as a span would show them.
func codeSpan(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r", ""), "\n", " ")
	if s == "" {
		return "` `"
	}
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return ticks + s + ticks
}

// fence puts s in a fenced code block whose fence is longer than any
// backtick run in s.
func fence(s, lang string) string {
	f := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return f + lang + "\n" + s + f + "\n"
}

func longestRun(s string, c byte) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
