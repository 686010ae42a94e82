package synth_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	mimicstages "github.com/medflow/medflow/stages/mimic"
	"github.com/medflow/medflow/stages/stagekit"
	"github.com/medflow/medflow/synth"
)

func write(t *testing.T, o synth.Options) (string, synth.Summary) {
	t.Helper()
	dir := t.TempDir()
	s, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := synth.Write(t.Context(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	return dir, sum
}

func digest(t *testing.T, dir string) string {
	s, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, o := range objs {
		b, err := objstore.ReadAll(t.Context(), s, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %x\n", o.Key, sha256.Sum256(b))
	}
	return fmt.Sprintf("%x/%d", h.Sum(nil), len(objs))
}

func TestWriteDeterministic(t *testing.T) {
	o := synth.Options{Studies: 12, Seed: 3, Width: 128, Height: 160, CorruptFraction: 0.3, Workers: 1}
	a, _ := write(t, o)
	o.Workers = 4
	b, _ := write(t, o)
	if digest(t, a) != digest(t, b) {
		t.Fatal("output depends on the number of workers")
	}
	o.Seed = 4
	c, _ := write(t, o)
	if digest(t, a) == digest(t, c) {
		t.Fatal("output does not depend on the seed")
	}
}

// The phantom dataset is read by medflow's own MIMIC stages: every frontal
// image of a healthy study comes out, and the planted faults those stages
// can see are quarantined under their keys.
func TestWriteReadBack(t *testing.T) {
	for _, plain := range []bool{false, true} {
		dir, sum := write(t, synth.Options{Studies: 40, Seed: 9, Width: 96, Height: 128, CorruptFraction: 0.25, PlainCSV: plain})
		if sum.Studies != 40 || sum.Images < 40 || sum.Subjects != 20 || len(sum.Faults) == 0 {
			t.Fatalf("summary %+v", sum)
		}
		r := pipeline.NewRegistry()
		if err := mimicstages.Register(r, stagekit.Deps{Open: func(ctx context.Context, uri string) (objstore.Store, error) {
			return connectors.Open(ctx, uri, connectors.Options{})
		}}); err != nil {
			t.Fatal(err)
		}
		res, err := pt.Run(t, r, pipeline.PlanOptions{},
			pt.Stage("index", "mimic.index", nil, map[string]any{"root": dir}),
			pt.Stage("sections", "report.sections", []string{"index"}, map[string]any{"root": dir}),
			pt.Stage("out", "test.collect", []string{"sections"}, nil),
		)
		if err != nil {
			t.Fatal(err)
		}
		var quarantined []string
		for _, q := range res.Run.Quarantined() {
			quarantined = append(quarantined, q.Key+" "+q.Reason)
		}
		lost := 0 // frontal images of studies with a fault the stages see
		for _, f := range sum.Faults {
			switch f.Kind {
			case "missing-report", "bad-label-row":
				lost++
				if !slices.ContainsFunc(quarantined, func(q string) bool {
					return strings.Contains(q, strings.TrimSuffix(f.Key, ".gz")) || strings.Contains(q, f.Key)
				}) {
					t.Errorf("plain=%v: fault %+v not quarantined; quarantine: %q", plain, f, quarantined)
				}
			}
		}
		if got := res.Rows("out"); got != sum.Studies-lost {
			t.Errorf("plain=%v: %d frontal rows, want %d (one per study, less %d faulty); quarantine: %q", plain, got, sum.Studies-lost, lost, quarantined)
		}
		for _, text := range res.Column("out", "report_text") {
			if s, _ := text.(string); len(s) < 10 {
				t.Errorf("short report text %q", s)
			}
		}
	}
}

// TestPermuteLabels: the control dataset has the same images, reports and
// label rows as the plain one, but the label rows belong to other studies.
func TestPermuteLabels(t *testing.T) {
	o := synth.Options{Studies: 30, Seed: 5, Width: 64, Height: 80, PlainCSV: true}
	plain, _ := write(t, o)
	o.PermuteLabels = true
	perm, _ := write(t, o)
	read := func(dir, key string) string {
		s, err := local.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := objstore.ReadAll(t.Context(), s, key)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	labels := func(dir string) (ids, rows []string) {
		for _, line := range strings.Split(strings.TrimSpace(read(dir, "mimic-cxr-2.0.0-chexpert.csv")), "\n")[1:] {
			f := strings.SplitN(line, ",", 3)
			ids, rows = append(ids, f[0]+","+f[1]), append(rows, f[2])
		}
		return ids, rows
	}
	pIDs, pRows := labels(plain)
	qIDs, qRows := labels(perm)
	if !slices.Equal(pIDs, qIDs) {
		t.Fatal("the permuted tables list other studies")
	}
	moved := 0
	for i := range pRows {
		if pRows[i] != qRows[i] {
			moved++
		}
	}
	if moved < len(pRows)/2 {
		t.Errorf("only %d of %d studies got another study's labels", moved, len(pRows))
	}
	slices.Sort(pRows)
	slices.Sort(qRows)
	if !slices.Equal(pRows, qRows) {
		t.Error("the permuted label rows are not those of the plain dataset")
	}
	if read(plain, "mimic-cxr-2.0.0-metadata.csv") != read(perm, "mimic-cxr-2.0.0-metadata.csv") {
		t.Error("the images' metadata differ")
	}
}
