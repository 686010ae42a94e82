package report

import (
	"fmt"
	"html"
	"strings"

	"github.com/medflow/medflow/internal/runrecord"
)

// DAG box geometry, in SVG user units (pixels at 100%).
const (
	dagBoxW, dagBoxH = 170, 54
	dagGapX, dagGapY = 60, 18
	dagGapV          = 30 // between depths when they run top to bottom
	dagMargin        = 10
)

// dagColors fill a stage's box by what the run did with it.
var dagColors = map[string]string{"compute": "#dbe9f6", "reuse": "#dff2df", "skip": "#eeeeee"}

// DAGSVG draws the run's DAG as a standalone SVG: one box per stage (name,
// kind, what the run did and how long the stage worked), stages placed by
// their depth from the sources (in columns, or in rows when the DAG is
// deeper than wide), edges from inputs to consumers. Boxes
// are filled by decision (compute blue, reuse green, skip grey) and a
// failed stage has a red border. No script: it shows in any browser and
// in Markdown viewers.
func DAGSVG(rec runrecord.Record) []byte {
	depth := map[string]int{}
	var depthOf func(name string, seen map[string]bool) int
	byName := map[string]runrecord.Stage{}
	for _, s := range rec.Stages {
		byName[s.Name] = s
	}
	depthOf = func(name string, seen map[string]bool) int {
		if d, ok := depth[name]; ok {
			return d
		}
		if seen[name] { // a cycle cannot be recorded; stay safe
			return 0
		}
		seen[name] = true
		d := 0
		for _, in := range byName[name].Inputs {
			if _, ok := byName[in]; ok {
				d = max(d, depthOf(in, seen)+1)
			}
		}
		depth[name] = d
		return d
	}
	type pos struct{ x, y int }
	at := map[string]pos{}
	slots := map[int]int{} // next free slot per depth
	depths, width := 0, 0
	for _, s := range rec.Stages {
		d := depthOf(s.Name, map[string]bool{})
		slots[d]++
		depths, width = max(depths, d+1), max(width, slots[d])
	}
	// Depth runs left to right when the DAG is shallow, top to bottom when
	// it is deeper than wide (a page is narrower than it is long).
	vertical := depths > 4 && depths > width
	clear(slots)
	for _, s := range rec.Stages {
		d := depthOf(s.Name, map[string]bool{})
		if vertical {
			at[s.Name] = pos{dagMargin + slots[d]*(dagBoxW+dagGapX), dagMargin + d*(dagBoxH+dagGapV)}
		} else {
			at[s.Name] = pos{dagMargin + d*(dagBoxW+dagGapX), dagMargin + slots[d]*(dagBoxH+dagGapY)}
		}
		slots[d]++
	}
	cols, rows := depths, width
	gapY := dagGapY
	if vertical {
		cols, rows, gapY = width, depths, dagGapV
	}
	w := 2*dagMargin + cols*dagBoxW + max(cols-1, 0)*dagGapX
	h := 2*dagMargin + rows*dagBoxH + max(rows-1, 0)*gapY
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" role="img" aria-label="pipeline DAG">`+"\n", w, h, w, h)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>` + "\n")
	for _, s := range rec.Stages {
		to := at[s.Name]
		for _, in := range s.Inputs {
			from, ok := at[in]
			if !ok {
				continue
			}
			if vertical {
				x1, y1 := from.x+dagBoxW/2, from.y+dagBoxH
				x2, y2 := to.x+dagBoxW/2, to.y
				mid := (y1 + y2) / 2
				fmt.Fprintf(&b, `<path d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#666" stroke-width="1.2" marker-end="url(#arrow)"/>`+"\n",
					x1, y1, x1, mid, x2, mid, x2, y2)
				continue
			}
			x1, y1 := from.x+dagBoxW, from.y+dagBoxH/2
			x2, y2 := to.x, to.y+dagBoxH/2
			mid := (x1 + x2) / 2
			fmt.Fprintf(&b, `<path d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#666" stroke-width="1.2" marker-end="url(#arrow)"/>`+"\n",
				x1, y1, mid, y1, mid, y2, x2, y2)
		}
	}
	e := html.EscapeString
	for _, s := range rec.Stages {
		p := at[s.Name]
		fill := dagColors[s.Decision]
		if fill == "" {
			fill = "#ffffff"
		}
		stroke, sw := "#888", 1
		if s.State == "failed" {
			stroke, sw = "#c62828", 3
		}
		fmt.Fprintf(&b, `<g><title>%s (%s): %s, %s</title>`, e(s.Name), e(s.Kind), e(s.Decision), e(s.State))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="%s" stroke-width="%d"/>`,
			p.x, p.y, dagBoxW, dagBoxH, fill, stroke, sw)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`, p.x+8, p.y+17, e(clip(s.Name, 22)))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#444">%s</text>`, p.x+8, p.y+32, e(clip(s.Kind, 26)))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#444">%s · %s</text></g>`+"\n", p.x+8, p.y+46, e(s.Decision), e(workText(s)))
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// workText is how long a stage worked, or its state when it did not run.
func workText(s runrecord.Stage) string {
	if s.Decision != "compute" {
		return s.State
	}
	return fmt.Sprintf("%.1f s work", s.WorkSeconds)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
