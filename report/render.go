package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"

	"github.com/medflow/medflow/internal/runrecord"
)

// block is one element of the report, rendered as Markdown or HTML.
type block struct {
	heading string
	level   int
	text    string
	kv      [][2]string
	grid    *grid
	code    string
	dag     bool // the DAG drawing (DAGFile), with code as its Mermaid source
	list    []string
	figure  *Figure
}

func (r *Report) blocks() []block {
	rec := r.Run
	var bs []block
	add := func(b block) { bs = append(bs, b) }
	add(block{heading: "medflow run " + rec.ID, level: 1})
	kv := [][2]string{{"variant", rec.Variant}, {"status", rec.Status}, {"config", rec.Config}, {"version", rec.Version}}
	if rec.Shard != "" {
		kv = append(kv, [2]string{"shard", rec.Shard})
	}
	kv = append(kv, [2]string{"start", rec.Start.UTC().Format(time.RFC3339)}, [2]string{"end", rec.End.UTC().Format(time.RFC3339)},
		[2]string{"duration", fmt.Sprintf("%.1f s", rec.End.Sub(rec.Start).Seconds())},
		[2]string{"quarantined records", fmt.Sprint(rec.Quarantined)})
	if rec.PeakRSSBytes > 0 {
		kv = append(kv, [2]string{"peak RSS", fmt.Sprintf("%.0f MiB", float64(rec.PeakRSSBytes)/(1<<20))})
	}
	if rec.Error != "" {
		kv = append(kv, [2]string{"error", rec.Error})
	}
	add(block{kv: kv})

	add(block{heading: "Pipeline", level: 2})
	add(block{dag: true, code: Mermaid(rec)})

	add(block{heading: "Stages", level: 2})
	g := grid{header: []string{"stage", "kind", "run", "state", "rows in", "rows out", "work (s)", "ended at (s)", "peak RSS (MiB)"}}
	if r.Quarantine != nil {
		g.header = append(g.header, "quarantined")
	}
	for _, s := range rec.Stages {
		rss := "-"
		if s.PeakRSSBytes > 0 {
			rss = fmt.Sprintf("%.0f", float64(s.PeakRSSBytes)/(1<<20))
		}
		row := []string{s.Name, s.Kind, s.Decision, s.State, fmt.Sprint(s.RowsIn), fmt.Sprint(s.RowsOut),
			fmt.Sprintf("%.2f", s.WorkSeconds), fmt.Sprintf("%.2f", s.Seconds), rss}
		if r.Quarantine != nil {
			row = append(row, fmt.Sprint(r.Quarantine[s.Name]))
		}
		g.rows = append(g.rows, row)
	}
	add(block{grid: &g})
	add(block{heading: "Quarantine", level: 2})
	switch {
	case rec.Quarantined == 0:
		add(block{text: "No record was quarantined."})
	case r.Quarantine != nil:
		var items []string
		for _, s := range rec.Stages {
			if n := r.Quarantine[s.Name]; n > 0 {
				items = append(items, fmt.Sprintf("%s: %d", s.Name, n)+quarantineSample(s, n))
			}
		}
		add(block{text: fmt.Sprintf("%d records were quarantined:", rec.Quarantined), list: items})
	default:
		add(block{text: fmt.Sprintf("%d records were quarantined (per-stage counts are not known for this run; the table is under %s/quarantine in the work store).", rec.Quarantined, rec.Variant)})
	}

	if len(rec.Outputs) > 0 {
		add(block{heading: "Outputs", level: 2})
		add(block{text: "Datasets and files the stages left (Parquet and Arrow files open in DuckDB, pandas or pyarrow):"})
		og := outputsGrid(rec.Outputs)
		add(block{grid: &og})
	}
	if len(r.Tables) > 0 {
		add(block{heading: "Metrics", level: 2})
		for _, t := range r.Tables {
			add(block{heading: fmt.Sprintf("%s (%s)", t.Stage, t.Kind), level: 3})
			if g1, ok := table1(t.Record); ok && t.Name == "compare" {
				add(block{text: "Table 1: mean AUC and exact-match accuracy"})
				add(block{grid: &g1})
				add(block{text: "The table as stored:"})
			}
			tg := tableGrid(t.Record)
			add(block{grid: &tg})
		}
		if rules := r.rules(); len(rules) > 0 {
			add(block{heading: "How the metrics are computed", level: 3})
			var items []string
			for _, kv := range rules {
				items = append(items, kv[0]+": "+kv[1])
			}
			add(block{list: items})
		}
	}
	if len(r.Figures) > 0 {
		add(block{heading: "Plots", level: 2})
		for i := range r.Figures {
			add(block{heading: r.Figures[i].Title, level: 3})
			add(block{figure: &r.Figures[i]})
		}
	}
	if len(r.Notes) > 0 {
		add(block{heading: "Notes", level: 2})
		add(block{list: slices.Clone(r.Notes)})
	}
	return bs
}

// outputsGrid lists datasets and cached outputs one a row, and each
// stage's artifacts as one row: their folder and file names.
func outputsGrid(outs []runrecord.Output) grid {
	g := grid{header: []string{"stage", "what", "path", "format / files", "rows"}}
	arts := map[string]int{} // stage -> row of its artifacts
	for _, o := range outs {
		if o.What == "artifact" {
			dir, name := o.Path, o.Path
			if i := strings.Index(o.Path, "/artifacts/"); i >= 0 {
				rest := o.Path[i+len("/artifacts/"):]
				if j := strings.Index(rest, "/"); j >= 0 {
					dir, name = o.Path[:i+len("/artifacts/")+j+1], rest[j+1:]
				}
			}
			if r, ok := arts[o.Stage+"\x00"+dir]; ok {
				g.rows[r][3] += ", " + name
				continue
			}
			arts[o.Stage+"\x00"+dir] = len(g.rows)
			g.rows = append(g.rows, []string{o.Stage, "artifacts", dir, name, "-"})
			continue
		}
		rows := "-"
		if o.Rows >= 0 {
			rows = fmt.Sprint(o.Rows)
		}
		g.rows = append(g.rows, []string{o.Stage, o.What, o.Path, o.Format, rows})
	}
	return g
}

// PlotPath is where Files puts a figure's PNG (and .svg beside it),
// relative to the report.
func PlotPath(f Figure, ext string) string { return "plots/" + f.File + ext }

// Markdown renders the report; plots are referenced as files under plots/
// (see Files).
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	for _, bl := range r.blocks() {
		switch {
		case bl.heading != "":
			fmt.Fprintf(&b, "%s %s\n\n", strings.Repeat("#", bl.level), bl.heading)
		case bl.kv != nil:
			g := grid{header: []string{"", ""}}
			for _, kv := range bl.kv {
				g.rows = append(g.rows, []string{"**" + kv[0] + "**", kv[1]})
			}
			mdGrid(&b, g)
		case bl.grid != nil:
			mdGrid(&b, *bl.grid)
		case bl.dag:
			fmt.Fprintf(&b, "![pipeline DAG](%s)\n\n<details><summary>Mermaid source</summary>\n\n```mermaid\n%s```\n\n</details>\n\n", DAGFile, bl.code)
		case bl.code != "":
			fmt.Fprintf(&b, "```mermaid\n%s```\n\n", bl.code)
		case bl.figure != nil:
			fmt.Fprintf(&b, "![%s](%s) ([SVG](%s))\n\n", bl.figure.Title, PlotPath(*bl.figure, ".png"), PlotPath(*bl.figure, ".svg"))
		}
		if bl.text != "" {
			fmt.Fprintf(&b, "%s\n\n", bl.text)
		}
		if bl.list != nil {
			for _, it := range bl.list {
				fmt.Fprintf(&b, "- %s\n", it)
			}
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

func mdGrid(b *bytes.Buffer, g grid) {
	esc := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + esc(c) + " |")
		}
		b.WriteString("\n")
	}
	line(g.header)
	b.WriteString("|" + strings.Repeat(" --- |", len(g.header)) + "\n")
	for _, r := range g.rows {
		line(r)
	}
	b.WriteString("\n")
}

const css = `body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:0.2em 0.6em;text-align:left;font-size:0.9em}
th{background:#f3f3f3}pre{background:#f6f6f6;padding:0.8em;overflow:auto}img{max-width:100%}
figure{margin:1em 0}figure.dag{overflow-x:auto}figcaption{font-size:0.85em;color:#555}`

// HTML renders the report as one self-contained page without scripts:
// plots are embedded as data: URIs (SVG where there is one), the DAG is
// drawn inline as SVG with its Mermaid source folded below.
func (r *Report) HTML() []byte {
	var b bytes.Buffer
	e := html.EscapeString
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title><style>%s</style></head><body>\n",
		e("medflow run "+r.Run.ID), css)
	for _, bl := range r.blocks() {
		switch {
		case bl.heading != "":
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", bl.level, e(bl.heading), bl.level)
		case bl.kv != nil:
			b.WriteString("<table>\n")
			for _, kv := range bl.kv {
				fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>\n", e(kv[0]), e(kv[1]))
			}
			b.WriteString("</table>\n")
		case bl.grid != nil:
			b.WriteString("<table>\n<tr>")
			for _, h := range bl.grid.header {
				fmt.Fprintf(&b, "<th>%s</th>", e(h))
			}
			b.WriteString("</tr>\n")
			for _, row := range bl.grid.rows {
				b.WriteString("<tr>")
				for _, c := range row {
					fmt.Fprintf(&b, "<td>%s</td>", e(c))
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</table>\n")
		case bl.dag:
			fmt.Fprintf(&b, "<figure class=\"dag\">%s<figcaption>blue: computed, green: reused, grey: skipped; red border: failed</figcaption></figure>\n", DAGSVG(r.Run))
			fmt.Fprintf(&b, "<details><summary>Mermaid source of the DAG</summary>\n<pre class=\"mermaid\">%s</pre></details>\n", e(bl.code))
		case bl.code != "":
			fmt.Fprintf(&b, "<pre>%s</pre>\n", e(bl.code))
		case bl.figure != nil:
			mime, data := "image/png", bl.figure.PNG
			if bl.figure.SVG != nil { // vector: sharp at any zoom
				mime, data = "image/svg+xml", bl.figure.SVG
			}
			fmt.Fprintf(&b, "<figure><img alt=\"%s\" src=\"data:%s;base64,%s\"><figcaption>%s</figcaption></figure>\n",
				e(bl.figure.Title), mime, base64.StdEncoding.EncodeToString(data), e(bl.figure.Title))
		}
		if bl.text != "" {
			fmt.Fprintf(&b, "<p>%s</p>\n", e(bl.text))
		}
		if bl.list != nil {
			b.WriteString("<ul>\n")
			for _, it := range bl.list {
				fmt.Fprintf(&b, "<li>%s</li>\n", e(it))
			}
			b.WriteString("</ul>\n")
		}
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

// Report file names.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	DAGFile      = "plots/dag.svg"
)

// Files returns every file of the report by relative path: report.md,
// report.html and the plots (PNG and SVG) report.md refers to.
func (r *Report) Files() map[string][]byte {
	out := map[string][]byte{MarkdownFile: r.Markdown(), HTMLFile: r.HTML(), DAGFile: DAGSVG(r.Run)}
	for _, f := range r.Figures {
		out[PlotPath(f, ".png")] = f.PNG
		if f.SVG != nil {
			out[PlotPath(f, ".svg")] = f.SVG
		}
	}
	return out
}

// quarantineSample lists the stage's first quarantined records (key and
// reason), as its run record keeps them, and says how many more the
// quarantine table holds.
func quarantineSample(s runrecord.Stage, n int) string {
	if len(s.QuarantineSample) == 0 {
		return ""
	}
	var parts []string
	for _, q := range s.QuarantineSample {
		parts = append(parts, fmt.Sprintf("%s (%s)", q.Key, q.Reason))
	}
	out := " - " + strings.Join(parts, "; ")
	if more := n - len(s.QuarantineSample); more > 0 {
		out += fmt.Sprintf("; and %d more in the quarantine table", more)
	}
	return out
}
