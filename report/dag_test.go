package report

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/internal/runrecord"
)

func TestDAGSVG(t *testing.T) {
	rec := runrecord.Record{Stages: []runrecord.Stage{
		{Name: "index", Kind: "mimic.index", Decision: "reuse", State: "done"},
		{Name: "decode", Kind: "image.decode", Inputs: []string{"index"}, Decision: "compute", State: "done", WorkSeconds: 12.34},
		{Name: "sections", Kind: "report.sections", Inputs: []string{"index"}, Decision: "skip", State: "pending"},
		{Name: "join", Kind: "join", Inputs: []string{"decode", "sections"}, Decision: "compute", State: "failed"},
	}}
	svg := string(DAGSVG(rec))
	if err := xml.Unmarshal([]byte(svg), new(struct{ XMLName xml.Name })); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, svg)
	}
	for _, tc := range []struct {
		what string
		n    int
		sub  string
	}{
		{"boxes", 4, "<rect "},
		{"edges", 4, "marker-end="},
		{"reused box", 1, dagColors["reuse"]},
		{"computed boxes", 2, dagColors["compute"]},
		{"failed border", 1, `stroke="#c62828"`},
		{"work time", 1, "12.3 s work"},
	} {
		if got := strings.Count(svg, tc.sub); got != tc.n {
			t.Errorf("%s: %d of %q, want %d", tc.what, got, tc.sub, tc.n)
		}
	}
	// join is two columns right of index: depth from the sources.
	if !strings.Contains(svg, `<rect x="470"`) {
		t.Errorf("join not in the third column:\n%s", svg)
	}
}

// TestListCellsReadable: list cells (label_names) read as "a, b", not
// "[a b]" where names with spaces run together.
func TestListCellsReadable(t *testing.T) {
	b := array.NewListBuilder(memory.DefaultAllocator, arrow.BinaryTypes.String)
	defer b.Release()
	vb := b.ValueBuilder().(*array.StringBuilder)
	b.Append(true)
	vb.AppendValues([]string{"Enlarged Cardiomediastinum", "Fracture", "Lung Lesion"}, nil)
	a := b.NewArray()
	defer a.Release()
	if got, want := cellText(a, 0), "Enlarged Cardiomediastinum, Fracture, Lung Lesion"; got != want {
		t.Errorf("cellText = %q, want %q", got, want)
	}
}

// TestDAGSVGDeepRunsDown: a DAG deeper than wide is drawn top to bottom,
// so it fits a page's width.
func TestDAGSVGDeepRunsDown(t *testing.T) {
	var rec runrecord.Record
	prev := ""
	for i := range 8 {
		s := runrecord.Stage{Name: fmt.Sprintf("s%d", i), Kind: "k", Decision: "compute", State: "done"}
		if prev != "" {
			s.Inputs = []string{prev}
		}
		rec.Stages, prev = append(rec.Stages, s), s.Name
	}
	var w, h int
	if _, err := fmt.Sscanf(string(DAGSVG(rec)), `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d"`, &w, &h); err != nil {
		t.Fatal(err)
	}
	if w != 2*dagMargin+dagBoxW || h <= w {
		t.Errorf("a chain of 8 is %dx%d, want one column, taller than wide", w, h)
	}
}
