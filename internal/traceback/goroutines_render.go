package traceback

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// goroutinesView is the page's section of every goroutine.
type goroutinesView struct {
	*Goroutines
	Groups []groupView
	Took   string
	// Lead is the group the collapsed section names: the largest in the
	// app's code, or the largest, after the panicking goroutine.
	Lead *groupView
	// GroupsURL is where the page fetches the groups when the section is
	// opened: they weighed as much as the rest of a 20-frame page, and the
	// section starts closed.
	GroupsURL string
}

// GroupCount counts the groups, the omitted ones included.
func (v *goroutinesView) GroupCount() int { return len(v.Groups) + v.OmittedGroups }

type groupView struct {
	GoroutineGroup
	Frames    []frameView
	CreatedBy *frameView
	// Top is the frame the group's line names: its innermost frame of the
	// app's code, or its innermost frame.
	Top    *frameView
	App    bool
	IDList string // "12, 13, 14 and 47 more"
}

func (r *Renderer) goroutinesView(g *Goroutines) *goroutinesView {
	if g == nil {
		return nil
	}
	v := &goroutinesView{Goroutines: g, Took: g.Took.Round(100_000).String()}
	for _, gg := range g.Groups {
		gv := groupView{GoroutineGroup: gg, IDList: idList(gg.IDs, gg.Count)}
		run := 0
		for i, f := range gg.Frames {
			fv := r.frameView(f)
			// Recursion folds as in the traceback: three calls show, the
			// rest of the run is counted.
			if i > 0 && gg.Frames[i-1].Function == f.Function {
				run++
			} else {
				run = 1
			}
			if run > recursionShown {
				n := len(gv.Frames) - 1
				if gv.Frames[n].Folded == 0 {
					gv.Frames = append(gv.Frames, frameView{Frame: Frame{Name: f.Name}})
					n++
				}
				gv.Frames[n].Folded++
				continue
			}
			gv.Frames = append(gv.Frames, fv)
			if f.Kind == App && !gv.App {
				gv.App = true
				top := fv
				gv.Top = &top
			}
		}
		if gv.Top == nil && len(gv.Frames) > 0 {
			top := gv.Frames[0]
			gv.Top = &top
		}
		if gg.CreatedBy != nil {
			cb := r.frameView(*gg.CreatedBy)
			gv.CreatedBy = &cb
		}
		v.Groups = append(v.Groups, gv)
	}
	for i := range v.Groups {
		if !v.Groups[i].Panicking && v.Groups[i].Count > 1 {
			v.Lead = &v.Groups[i]
			break
		}
	}
	return v
}

func idList(ids []int, count int) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(id))
	}
	if more := count - len(ids); more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}

// writeGoroutines is the text view's part of every goroutine, in the
// runtime's own format with the count and the ids in each group's header.
func writeGoroutines(bw *bufio.Writer, g *Goroutines) {
	if g == nil {
		return
	}
	if g.Skipped != "" {
		fmt.Fprintf(bw, "\nGoroutines: %s\n", g.Skipped)
		return
	}
	fmt.Fprintf(bw, "\n%d goroutines at the panic, in %d groups of identical stacks:\n", g.Total, len(g.Groups)+g.OmittedGroups)
	if g.Truncated {
		bw.WriteString("(the dump was cut at its size limit: goroutines past it are missing)\n")
	}
	for _, gg := range g.Groups {
		state := gg.State
		if len(gg.Attrs) > 0 {
			state += ", " + strings.Join(gg.Attrs, ", ")
		}
		if w := gg.Wait(); w != "" {
			state += ", " + w
		}
		noun := "goroutines"
		if gg.Count == 1 {
			noun = "goroutine"
		}
		fmt.Fprintf(bw, "\n%d %s [%s]: %s\n", gg.Count, noun, state, idList(gg.IDs, gg.Count))
		if gg.Panicking {
			bw.WriteString("\t(the goroutine that panicked: its traceback is above)\n")
			continue
		}
		if gg.Note != "" {
			fmt.Fprintf(bw, "\t%s\n", gg.Note)
		}
		for _, f := range gg.Frames {
			fmt.Fprintf(bw, "%s(...)\n\t%s:%d\n", f.Function, f.File, f.Line)
		}
		if gg.Elided {
			bw.WriteString("...additional frames elided...\n")
		}
		if cb := gg.CreatedBy; cb != nil {
			fmt.Fprintf(bw, "created by %s\n\t%s:%d\n", cb.Function, cb.File, cb.Line)
		}
	}
	if g.OmittedGroups > 0 {
		fmt.Fprintf(bw, "\n... %d smaller groups (%d goroutines) not kept\n", g.OmittedGroups, g.OmittedGoroutines)
	}
}
