package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/report/reporttest"
	"github.com/medflow/medflow/schemas"
)

// storedRun runs the reporttest pipeline into in-memory artifact stores.
func storedRun(t *testing.T) (runrecord.Record, map[string]*pipeline.MemArtifacts) {
	t.Helper()
	stores := map[string]*pipeline.MemArtifacts{}
	rec := reporttest.Run(t, func(fp string) pipeline.Artifacts {
		if stores[fp] == nil {
			stores[fp] = pipeline.NewMemArtifacts()
		}
		return stores[fp]
	})
	return rec, stores
}

func artifactsOf(stores map[string]*pipeline.MemArtifacts) func(string) pipeline.Artifacts {
	return func(fp string) pipeline.Artifacts {
		if a, ok := stores[fp]; ok {
			return a
		}
		return pipeline.NewMemArtifacts()
	}
}

func TestReportFromStoredRun(t *testing.T) {
	rec, stores := storedRun(t)
	rec.SetPeaks(map[string]int64{rec.Stages[0].Name: 300 << 20}, 512<<20)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := Build(context.Background(), Input{Record: rec, Artifacts: artifactsOf(stores), Quarantine: map[string]int{"pred_a": 0}}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if md := string(r.Markdown()); !strings.Contains(md, "| **peak RSS** | 512 MiB |") ||
		!strings.Contains(md, fmt.Sprintf("| %s | %s | compute | done |", rec.Stages[0].Name, rec.Stages[0].Kind)) || !strings.Contains(md, " | 300 |") {
		t.Errorf("report.md lacks the run's and the first stage's peak RSS:\n%s", md)
	}

	var tables []string
	for _, tb := range r.Tables {
		tables = append(tables, tb.Stage+"/"+tb.Name)
	}
	if got, want := strings.Join(tables, " "), "labels_a/labels summary_a/summary summary_b/summary table1/compare"; got != want {
		t.Errorf("tables %q, want %q", got, want)
	}
	var figs []string
	for _, f := range r.Figures {
		figs = append(figs, f.File)
	}
	if got, want := strings.Join(figs, " "), "train-curve labels_a-roc table1-auc_bars"; got != want {
		t.Errorf("figures %q, want %q", got, want)
	}
	if len(r.Notes) != 0 {
		t.Errorf("notes %v", r.Notes)
	}

	md, page := string(r.Markdown()), string(r.HTML())
	for _, s := range rec.Stages {
		// every stage in the DAG and in the stage table with its counts
		row := regexp.MustCompile(`\| ` + s.Name + ` \| ` + regexp.QuoteMeta(s.Kind) + ` \| compute \| done \| ` +
			strconv.FormatInt(s.RowsIn, 10) + ` \| ` + strconv.FormatInt(s.RowsOut, 10) + ` \|`)
		if !row.MatchString(md) {
			t.Errorf("report.md has no stage row for %s (rows %d/%d)", s.Name, s.RowsIn, s.RowsOut)
		}
		if !strings.Contains(md, s.Name+"<br/>"+s.Kind) {
			t.Errorf("the Mermaid DAG lacks %s", s.Name)
		}
	}
	// Table 1 shows each model's mean AUC as stored by eval.compare
	cmp := r.Tables[3].Record
	for i := range int(cmp.NumRows()) {
		model := cmp.Column(0).(*array.String).Value(i)
		auc := cellText(cmp.Column(3), i)
		if !strings.Contains(md, "| "+model) || !strings.Contains(md, auc) || !strings.Contains(page, auc) {
			t.Errorf("Table 1 lacks %s with mean AUC %s", model, auc)
		}
	}
	for _, want := range []string{"```mermaid", "Table 1", "Quarantine", "mean_rule: ", "![train (test.train): training curve](plots/train-curve.png)"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}

	// HTML: self-contained; every plot embedded as SVG (PNG when a plot
	// has no SVG) that parses; the DAG drawn inline, Mermaid folded.
	if strings.Contains(page, "<script") || regexp.MustCompile(`(src|href)="https?:`).MatchString(page) {
		t.Error("report.html loads something from outside")
	}
	imgs := regexp.MustCompile(`src="data:image/(png|svg\+xml);base64,([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(imgs) != len(r.Figures) {
		t.Fatalf("report.html embeds %d images, want %d", len(imgs), len(r.Figures))
	}
	for _, m := range imgs {
		data, err := base64.StdEncoding.DecodeString(m[2])
		if err != nil {
			t.Fatal(err)
		}
		if m[1] == "png" {
			if _, err := png.Decode(bytes.NewReader(data)); err != nil {
				t.Errorf("embedded PNG: %v", err)
			}
		} else if err := xml.Unmarshal(data, new(struct{ XMLName xml.Name })); err != nil {
			t.Errorf("embedded SVG does not parse: %v", err)
		}
	}
	if !strings.Contains(page, `aria-label="pipeline DAG"`) || !strings.Contains(page, "<details><summary>Mermaid source") {
		t.Error("report.html lacks the inline DAG or its folded Mermaid source")
	}
	files := r.Files()
	for _, name := range []string{MarkdownFile, HTMLFile, DAGFile, "plots/train-curve.png", "plots/train-curve.svg", "plots/labels_a-roc.png", "plots/table1-auc_bars.svg"} {
		if len(files[name]) == 0 {
			t.Errorf("file %s missing", name)
		}
	}
}

func TestMissingAndBrokenArtifacts(t *testing.T) {
	rec, stores := storedRun(t)
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fpOf := func(name string) string {
		for _, s := range rec.Stages {
			if s.Name == name {
				return s.Fingerprint
			}
		}
		t.Fatalf("no stage %s", name)
		return ""
	}
	// a deleted table and plot become notes
	stores[fpOf("summary_b")].Delete(ctx, "summary.arrow")
	stores[fpOf("labels_a")].Delete(ctx, "roc.svg")
	rec.Quarantined = 3 // as if; no per-stage counts given
	r, err := Build(ctx, Input{Record: rec, Artifacts: artifactsOf(stores)}, mem)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(r.Notes, "\n")
	if len(r.Tables) != 3 || !strings.Contains(notes, "summary_b") || !strings.Contains(notes, "roc.svg") {
		t.Errorf("%d tables, notes %q", len(r.Tables), notes)
	}
	if md := string(r.Markdown()); !strings.Contains(md, "per-stage counts are not known") {
		t.Error("report.md does not say per-stage quarantine counts are unknown")
	}
	r.Release()

	// a corrupt table or curve is an error naming the stage and artifact
	for _, c := range []struct{ stage, artifact string }{{"table1", "compare.arrow"}, {"train", schemas.CurveArtifact}} {
		stores[fpOf(c.stage)].Put(ctx, c.artifact, []byte("not arrow"))
		_, err = Build(ctx, Input{Record: rec, Artifacts: artifactsOf(stores)}, mem)
		if !errors.Is(err, ErrArtifact) || !strings.Contains(err.Error(), c.stage) || !strings.Contains(err.Error(), c.artifact) {
			t.Errorf("corrupt %s/%s: error %v", c.stage, c.artifact, err)
		}
	}
}

// TestQuarantineKeysListed: the report lists each stage's quarantined
// records (key and reason) from its run record, and how many more the
// table holds.
func TestQuarantineKeysListed(t *testing.T) {
	rec := runrecord.Record{ID: "r", Variant: "v", Status: "succeeded", Quarantined: 12, Stages: []runrecord.Stage{
		{Name: "sections", Kind: "report.sections", Decision: "reuse", Quarantined: 12, QuarantineSample: []runrecord.QuarantinedRecord{
			{Key: "files/p10/s1.txt", Reason: "report not found"}, {Key: "files/p11/s2.txt", Reason: "no usable section"}}},
		{Name: "clean", Kind: "col.scale", Decision: "compute"},
	}}
	r, err := Build(context.Background(), Input{Record: rec, Quarantine: map[string]int{"sections": 12},
		Artifacts: func(string) pipeline.Artifacts { return pipeline.NewMemArtifacts() }}, memory.NewGoAllocator())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	want := "- sections: 12 - files/p10/s1.txt (report not found); files/p11/s2.txt (no usable section); and 10 more in the quarantine table"
	if md := string(r.Markdown()); !strings.Contains(md, want) || strings.Contains(md, "- clean:") {
		t.Errorf("report.md lacks\n%s\nor lists a stage that quarantined nothing:\n%s", want, md)
	}
	if h := string(r.HTML()); !strings.Contains(h, "files/p10/s1.txt (report not found)") {
		t.Error("report.html lacks the quarantined key")
	}
}
