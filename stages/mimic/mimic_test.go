package mimic_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/objstore"
	cxr "github.com/medflow/medflow/mimic"
	"github.com/medflow/medflow/mimic/mimictest"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/schemas/cxrschema"
	"github.com/medflow/medflow/stages/mimic"
	"github.com/medflow/medflow/stages/stagekit"
)

func deps() stagekit.Deps {
	return stagekit.Deps{Open: func(ctx context.Context, uri string) (objstore.Store, error) {
		return connectors.Open(ctx, uri, connectors.Options{})
	}}
}

func registry(t testing.TB) *pipeline.Registry {
	r := pipeline.NewRegistry()
	if err := mimic.Register(r, deps()); err != nil {
		t.Fatal(err)
	}
	return r
}

func tree(t testing.TB, cfg mimictest.Config) string {
	t.Helper()
	tr, err := mimictest.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := tr.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func index(t testing.TB, params map[string]any, shard pipeline.Shard) (*pt.Result, error) {
	return pt.Run(t, registry(t), pipeline.PlanOptions{Shard: shard},
		pt.Stage("ix", "mimic.index", nil, params),
		pt.Stage("out", "test.collect", []string{"ix"}, nil))
}

func quarantined(res *pt.Result) []string {
	var out []string
	for _, q := range res.Run.Quarantined() {
		out = append(out, q.Key)
	}
	slices.Sort(out)
	return out
}

// studyIndex maps generated study ids back to their number.
func studyIndex(n int) map[int64]int {
	m := make(map[int64]int, n)
	for i := range n {
		m[mimictest.Study(i)] = i
	}
	return m
}

func num(x any) float64 {
	switch v := x.(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case uint8:
		return float64(v)
	case int64:
		return float64(v)
	}
	panic(fmt.Sprintf("not a number: %T %v", x, x))
}

func floats(v any) []float32 {
	var out []float32
	for _, x := range v.([]any) {
		out = append(out, float32(num(x)))
	}
	return out
}

func bytesOf(v any) []uint8 {
	var out []uint8
	for _, x := range v.([]any) {
		out = append(out, uint8(num(x)))
	}
	return out
}

func TestIndex(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    mimictest.Config
		params map[string]any
	}{
		{name: "defaults", cfg: mimictest.Config{Studies: 80, Images: 130, Seed: 1}},
		{name: "gzip, all views, small batches", cfg: mimictest.Config{Studies: 80, Images: 130, Seed: 2, Gzip: true},
			params: map[string]any{"views": []any{"all"}, "batch_rows": 7}},
		{name: "test split laterals", cfg: mimictest.Config{Studies: 300, Images: 500, Seed: 3},
			params: map[string]any{"views": []any{"LATERAL", "LL"}, "splits": []any{"test", "validate"}}},
		{name: "negbio", cfg: mimictest.Config{Studies: 50, Images: 50, Seed: 4}, params: map[string]any{"labeler": "negbio"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tree(t, tc.cfg)
			params := map[string]any{"root": dir}
			for k, v := range tc.params {
				params[k] = v
			}
			res, err := index(t, params, pipeline.Shard{})
			if err != nil {
				t.Fatal(err)
			}
			// The reference: the mimic package on the same files.
			var opts cxr.Options
			if v, ok := tc.params["views"]; ok {
				for _, s := range v.([]any) {
					opts.Views = append(opts.Views, s.(string))
				}
			}
			if v, ok := tc.params["splits"]; ok {
				for _, s := range v.([]any) {
					opts.Splits = append(opts.Splits, s.(string))
				}
			}
			labels := mimictest.ChexpertFile
			if tc.params["labeler"] == "negbio" {
				labels = mimictest.NegbioFile
			}
			ix := buildFrom(t, dir, labels, tc.cfg.Gzip, opts)
			if res.Rows("out") != ix.Len() || ix.Len() == 0 {
				t.Fatalf("%d rows, want %d", res.Rows("out"), ix.Len())
			}
			if q := quarantined(res); len(q) != 0 {
				t.Errorf("quarantined %q", q)
			}
			for i := range ix.Len() {
				e := ix.Entry(i)
				got := []any{res.Column("out", "subject_id")[i], res.Column("out", "study_id")[i], res.Column("out", "dicom_id")[i],
					res.Column("out", "split")[i], res.Column("out", "view")[i], res.Column("out", "rows")[i], res.Column("out", "columns")[i],
					res.Column("out", "image_key")[i], res.Column("out", "report_key")[i],
					floats(res.Column("out", "labels")[i]), bytesOf(res.Column("out", "label_mask")[i])}
				want := []any{e.SubjectID, e.StudyID, e.DicomID, e.Split, e.View, e.Rows, e.Columns, e.ImageKey(), e.ReportKey(),
					e.Labels[:], e.Mask[:]}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("row %d:\n got %v\nwant %v", i, got, want)
				}
				if tc.params["labeler"] == "negbio" && slices.Contains(e.Raw[:], cxr.Uncertain) {
					t.Fatalf("negbio row %d has uncertain labels: the chexpert file was read", i)
				}
			}
		})
	}
}

func buildFrom(t *testing.T, dir, labels string, gz bool, opts cxr.Options) *cxr.Index {
	t.Helper()
	open := func(name string) cxr.Input {
		if gz {
			name += ".gz"
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return cxr.Input{Name: name, R: f}
	}
	ix, err := cxr.Build(cxr.Tables{Metadata: open(mimictest.MetadataFile), Split: open(mimictest.SplitFile), Labels: open(labels)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestIndexQuarantine(t *testing.T) {
	for _, gz := range []bool{false, true} {
		cfg := mimictest.Config{Studies: 40, Images: 70, Seed: 5, Faults: true, Gzip: gz}
		res, err := index(t, map[string]any{"root": tree(t, cfg)}, pipeline.Shard{})
		if err != nil {
			t.Fatal(err)
		}
		want := mimictest.FaultKeys(cfg)
		slices.Sort(want)
		if got := quarantined(res); !slices.Equal(got, want) {
			t.Errorf("gzip %v: quarantined\n%q\nwant\n%q", gz, got, want)
		}
		for _, q := range res.Run.Quarantined() {
			if q.Stage != "ix" || q.Reason == "" {
				t.Errorf("entry %+v", q)
			}
		}
		clean, err := index(t, map[string]any{"root": tree(t, mimictest.Config{Studies: 40, Images: 70, Seed: 5})}, pipeline.Shard{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows("out") != clean.Rows("out") {
			t.Errorf("faults changed the good rows: %d vs %d", res.Rows("out"), clean.Rows("out"))
		}
	}
	// An error budget turns the quarantine into a failure.
	cfg := mimictest.Config{Studies: 40, Images: 70, Faults: true}
	_, err := pt.Run(t, registry(t), pipeline.PlanOptions{MaxQuarantined: 3},
		pt.Stage("ix", "mimic.index", nil, map[string]any{"root": tree(t, cfg)}),
		pt.Stage("out", "test.collect", []string{"ix"}, nil))
	if err == nil {
		t.Error("9 quarantined records passed a budget of 3")
	}
}

func TestIndexPolicies(t *testing.T) {
	cfg := mimictest.Config{Studies: 120, Images: 120, Seed: 6}
	dir := tree(t, cfg)
	studies := studyIndex(cfg.Studies)
	type outcome struct {
		v float32
		m uint8
	}
	for _, tc := range []struct {
		name      string
		uncertain any
		blank     string
		want      func(label int, cell string) outcome
	}{
		{name: "default: zeros, blank zeros", want: func(_ int, c string) outcome {
			return map[string]outcome{"1.0": {1, 1}, "0.0": {0, 1}, "-1.0": {0, 1}, "": {0, 1}}[c]
		}},
		{name: "ones", uncertain: "ones", want: func(_ int, c string) outcome {
			return map[string]outcome{"1.0": {1, 1}, "0.0": {0, 1}, "-1.0": {1, 1}, "": {0, 1}}[c]
		}},
		{name: "ignore, blank ignore", uncertain: "ignore", blank: "ignore", want: func(_ int, c string) outcome {
			return map[string]outcome{"1.0": {1, 1}, "0.0": {0, 1}, "-1.0": {0, 0}, "": {0, 0}}[c]
		}},
		{name: "per label", uncertain: map[string]any{"default": "ignore", "Atelectasis": "ones", "Edema": "zeros"},
			want: func(l int, c string) outcome {
				if c == "-1.0" {
					switch cxrschema.LabelNames[l] {
					case "Atelectasis":
						return outcome{1, 1}
					case "Edema":
						return outcome{0, 1}
					}
					return outcome{0, 0}
				}
				return map[string]outcome{"1.0": {1, 1}, "0.0": {0, 1}, "": {0, 1}}[c]
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]any{"root": dir, "views": []any{"all"}}
			if tc.uncertain != nil {
				params["uncertain"] = tc.uncertain
			}
			if tc.blank != "" {
				params["blank"] = tc.blank
			}
			res, err := index(t, params, pipeline.Shard{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows("out") != cfg.Images {
				t.Fatalf("%d rows", res.Rows("out"))
			}
			seen := map[string]bool{}
			for i, s := range res.Column("out", "study_id") {
				cells := mimictest.Labels(cfg.Seed, studies[s.(int64)])
				vals, mask := floats(res.Column("out", "labels")[i]), bytesOf(res.Column("out", "label_mask")[i])
				for l, c := range cells {
					seen[c] = true
					if got, want := (outcome{vals[l], mask[l]}), tc.want(l, c); got != want {
						t.Fatalf("study %v label %s cell %q: got %v, want %v", s, cxrschema.LabelNames[l], c, got, want)
					}
				}
			}
			if len(seen) != 4 {
				t.Errorf("the data covers only the cells %v", seen)
			}
		})
	}
}

func TestIndexDeterministicAndShards(t *testing.T) {
	cfg := mimictest.Config{Studies: 200, Images: 330, Seed: 7, Faults: true}
	dir := tree(t, cfg)
	params := map[string]any{"root": dir, "batch_rows": 50}
	full, err := index(t, params, pipeline.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := index(t, params, pipeline.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range cxrschema.MIMICIndex.Fields() {
		if !reflect.DeepEqual(full.Column("out", f.Name), again.Column("out", f.Name)) {
			t.Fatalf("column %s differs between two runs", f.Name)
		}
	}
	if !slices.Equal(quarantined(full), quarantined(again)) {
		t.Fatal("quarantine differs between two runs")
	}
	for _, n := range []int{2, 3, 5} {
		var dicoms, quar []string
		studyShard := map[int64]int{}
		for i := range n {
			res, err := index(t, params, pipeline.Shard{Index: i, Count: n})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows("out") == 0 {
				t.Errorf("shard %d/%d is empty", i, n)
			}
			for k, d := range res.Column("out", "dicom_id") {
				dicoms = append(dicoms, d.(string))
				s := res.Column("out", "study_id")[k].(int64)
				if j, ok := studyShard[s]; ok && j != i {
					t.Fatalf("study %d in shards %d and %d of %d", s, j, i, n)
				}
				studyShard[s] = i
			}
			quar = append(quar, quarantined(res)...)
		}
		want := make([]string, 0, full.Rows("out"))
		for _, d := range full.Column("out", "dicom_id") {
			want = append(want, d.(string))
		}
		slices.Sort(dicoms)
		slices.Sort(want)
		if !slices.Equal(dicoms, want) {
			t.Errorf("%d shards: %d rows do not partition the %d rows of the full run", n, len(dicoms), len(want))
		}
		slices.Sort(quar)
		if !slices.Equal(quar, quarantined(full)) {
			t.Errorf("%d shards quarantined %q, want each of %q once", n, quar, quarantined(full))
		}
	}
}

func TestIndexErrors(t *testing.T) {
	dir := tree(t, mimictest.Config{Studies: 5, Images: 5})
	for _, tc := range []struct {
		name   string
		params map[string]any
		plan   bool // a plan error (else a run error)
		want   string
	}{
		{name: "no root", params: map[string]any{}, plan: true, want: "missing required param"},
		{name: "bad split", params: map[string]any{"root": dir, "splits": []any{"dev"}}, plan: true, want: `key "params.splits": item 0: invalid param value: "dev": want train, validate or test`},
		{name: "empty views", params: map[string]any{"root": dir, "views": []any{}}, plan: true, want: `key "params.views": invalid param value: empty list`},
		{name: "view not a string", params: map[string]any{"root": dir, "views": []any{1}}, plan: true, want: `key "params.views": wrong param type: item 0: want string, got integer 1`},
		{name: "bad uncertain", params: map[string]any{"root": dir, "uncertain": "maybe"}, plan: true, want: "unknown label treatment"},
		{name: "bad uncertain label", params: map[string]any{"root": dir, "uncertain": map[string]any{"Edemaa": "ones"}}, plan: true, want: `unknown label "Edemaa"`},
		{name: "blank ones", params: map[string]any{"root": dir, "blank": "ones"}, plan: true, want: `key "params.blank": invalid param value: "ones": want zeros or ignore`},
		{name: "bad labeler", params: map[string]any{"root": dir, "labeler": "chexbert"}, plan: true, want: "want chexpert or negbio"},
		{name: "bad batch", params: map[string]any{"root": dir, "batch_rows": 0}, plan: true, want: "batch_rows"},
		{name: "no tables", params: map[string]any{"root": t.TempDir()}, want: "neither mimic-cxr-2.0.0-metadata.csv.gz nor mimic-cxr-2.0.0-metadata.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := index(t, tc.params, pipeline.Shard{})
			var pe *pipeline.PlanError
			if err == nil || errors.As(err, &pe) != tc.plan || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want a plan error=%v containing %q", err, tc.plan, tc.want)
			}
		})
	}
}

func TestSections(t *testing.T) {
	cfg := mimictest.Config{Studies: 60, Images: 90, Seed: 8, Reports: true}
	dir := tree(t, cfg)
	// Take away two reports and make two unusable.
	studies := []int{1, 2, 3, 4}
	for k, i := range studies {
		p := filepath.Join(dir, filepath.FromSlash(cxr.ReportKey(mimictest.Subject(i), mimictest.Study(i))))
		var err error
		if k < 2 {
			err = os.Remove(p)
		} else {
			err = os.WriteFile(p, []byte(" FINAL REPORT\n no headers at all\n "+strings.Repeat("_", 40)+"\n ADDENDUM: x\n"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprint("workers ", workers), func(t *testing.T) {
			res, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
				pt.Stage("ix", "mimic.index", nil, map[string]any{"root": dir, "views": []any{"all"}, "batch_rows": 16}),
				pipeline.StageSpec{Name: "rep", Kind: "report.sections", Inputs: []string{"ix"}, Workers: workers,
					Params: map[string]any{"root": dir}},
				pt.Stage("out", "test.collect", []string{"rep"}, nil))
			if err != nil {
				t.Fatal(err)
			}
			// The images of the four broken studies are dropped.
			dropped := 0
			for _, i := range studies {
				if i < cfg.Images-cfg.Studies {
					dropped += 2
				} else {
					dropped++
				}
			}
			if res.Rows("out") != cfg.Images-dropped {
				t.Errorf("%d rows, want %d", res.Rows("out"), cfg.Images-dropped)
			}
			var want []string
			for k, i := range studies {
				reason := "report not found"
				if k >= 2 {
					reason = "no usable section (sections found: none)"
				}
				want = append(want, cxr.ReportKey(mimictest.Subject(i), mimictest.Study(i))+": "+reason)
			}
			slices.Sort(want)
			var got []string
			for _, q := range res.Run.Quarantined() {
				if q.Stage == "rep" {
					got = append(got, q.Key+": "+q.Reason)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("quarantined\n%q\nwant\n%q", got, want)
			}
			ids := studyIndex(cfg.Studies)
			wantText := []string{"The lungs are clear. There is no pleural effusion or pneumothorax. Heart size is normal. No acute cardiopulmonary process.",
				"Right IJ catheter tip in the mid SVC. No pneumothorax.",
				"Mild pulmonary vascular congestion. Small left effusion.",
				"Findings telephoned to Dr. ___.",
				"Heart size normal. Caf\ufffd au lait. No acute process."}
			wantSecs := [][]any{{"EXAMINATION", "INDICATION", "TECHNIQUE", "COMPARISON", "FINDINGS", "IMPRESSION"},
				{"INDICATION", "IMPRESSION"}, {"EXAMINATION", "FINDINGS"}, {"EXAMINATION", "NOTIFICATION"}, {"FINDINGS", "IMPRESSION"}}
			prev := int64(0)
			for r, s := range res.Column("out", "study_id") {
				i := ids[s.(int64)]
				if s.(int64) < prev {
					t.Fatalf("row %d out of order", r)
				}
				prev = s.(int64)
				if got := res.Column("out", "report_text")[r]; got != wantText[i%5] {
					t.Errorf("study %d: text %q, want %q", i, got, wantText[i%5])
				}
				if got := res.Column("out", "report_sections")[r]; !reflect.DeepEqual(got, wantSecs[i%5]) {
					t.Errorf("study %d: sections %v, want %v", i, got, wantSecs[i%5])
				}
				if res.Column("out", "dicom_id")[r] == nil {
					t.Errorf("input column lost")
				}
			}
		})
	}
}

func TestSectionsSelect(t *testing.T) {
	cfg := mimictest.Config{Studies: 10, Images: 10, Reports: true}
	dir := tree(t, cfg)
	res, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
		pt.Stage("ix", "mimic.index", nil, map[string]any{"root": dir}),
		pt.Stage("rep", "report.sections", []string{"ix"}, map[string]any{"root": dir, "select": []any{"impression"}}),
		pt.Stage("out", "test.collect", []string{"rep"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	// Templates 2 and 3 have no impression.
	if res.Rows("out") != 6 || len(res.Run.Quarantined()) != 4 {
		t.Errorf("%d rows, %d quarantined; want 6, 4", res.Rows("out"), len(res.Run.Quarantined()))
	}
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"root": dir, "select": []any{"findings+"}}, "not a section name"},
		// --set 'sections.select=[findings impression]' (issue 17, item 9):
		// refused at plan time instead of quarantining every report.
		{map[string]any{"root": dir, "select": []any{"findings impression"}}, `key "params.select": invalid param value: selection "findings impression"`},
		{map[string]any{"root": dir, "select": []any{}}, `key "params.select": invalid param value: empty list`},
		{map[string]any{"root": dir, "column": "dicom"}, `missing column "dicom"`},
		{map[string]any{"root": dir, "column": "rows"}, `column "rows" is int32`},
	} {
		_, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
			pt.Stage("ix", "mimic.index", nil, map[string]any{"root": dir}),
			pt.Stage("rep", "report.sections", []string{"ix"}, tc.params),
			pt.Stage("out", "test.collect", []string{"rep"}, nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("params %v: err = %v, want %q", tc.params, err, tc.want)
		}
	}
}

func TestLabelNames(t *testing.T) {
	if !slices.Equal(cxrschema.LabelNames, cxr.LabelNames[:]) {
		t.Errorf("cxrschema.LabelNames %q != mimic.LabelNames %q", cxrschema.LabelNames, cxr.LabelNames)
	}
}

// indexBoth writes cfg's fixture and indexes it by images and by studies.
func indexBoth(t *testing.T, cfg mimictest.Config) (dir string, images, studies *pt.Result) {
	t.Helper()
	dir = tree(t, cfg)
	var err error
	if images, err = index(t, map[string]any{"root": dir}, pipeline.Shard{}); err != nil {
		t.Fatal(err)
	}
	if studies, err = index(t, map[string]any{"root": dir, "rows": "studies"}, pipeline.Shard{}); err != nil {
		t.Fatal(err)
	}
	return dir, images, studies
}

// TestIndexStudies: rows: studies emits one row per study that has a kept
// image, with its labels, split, report key and the number of its kept
// images (1 or 2 per study in the fixture, some dropped by the view
// filter), in the images' order;
// the rows of every shard together are the unsharded rows.
func TestIndexStudies(t *testing.T) {
	dir, images, studies := indexBoth(t, mimictest.Config{Studies: 80, Images: 150, Seed: 11})
	// The reference: group the image rows by study, in order.
	type study struct {
		id     int64
		split  string
		report string
		labels []float32
		n      int32
	}
	var want []study
	col := func(res *pt.Result, name string, i int) any { return res.Column("out", name)[i] }
	for i := range int(images.Rows("out")) {
		id := col(images, "study_id", i).(int64)
		if len(want) > 0 && want[len(want)-1].id == id {
			want[len(want)-1].n++
			continue
		}
		want = append(want, study{id, col(images, "split", i).(string), col(images, "report_key", i).(string),
			floats(col(images, "labels", i)), 1})
	}
	counts := map[int32]int{}
	for _, s := range want {
		counts[s.n]++
	}
	if counts[1] == 0 || counts[2] == 0 {
		t.Fatalf("fixture lacks studies with 1 and 2 kept images: %v", counts)
	}
	if int(studies.Rows("out")) != len(want) {
		t.Fatalf("%d study rows, want %d (images: %d)", studies.Rows("out"), len(want), images.Rows("out"))
	}
	for i, w := range want {
		got := study{col(studies, "study_id", i).(int64), col(studies, "split", i).(string), col(studies, "report_key", i).(string),
			floats(col(studies, "labels", i)), col(studies, "images", i).(int32)}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("study row %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	var sharded []int64
	for k := range 3 {
		res, err := index(t, map[string]any{"root": dir, "rows": "studies"}, pipeline.Shard{Index: k, Count: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range res.Column("out", "study_id") {
			sharded = append(sharded, v.(int64))
		}
	}
	slices.Sort(sharded)
	var all []int64
	for _, w := range want {
		all = append(all, w.id)
	}
	slices.Sort(all)
	if !slices.Equal(sharded, all) {
		t.Errorf("the 3 shards hold %d studies, want the %d of the unsharded run", len(sharded), len(all))
	}
}

// TestIndexStudiesProblems: a studies index quarantines the same table
// problems as the images index, or none with problems: false (when the
// images index of the same variant already reports them).
func TestIndexStudiesProblems(t *testing.T) {
	dir, images, studies := indexBoth(t, mimictest.Config{Studies: 40, Images: 70, Seed: 5, Faults: true})
	if got, want := quarantined(studies), quarantined(images); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("studies index quarantined %q, images index %q", got, want)
	}
	quiet, err := index(t, map[string]any{"root": dir, "rows": "studies", "problems": false}, pipeline.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if q := quarantined(quiet); len(q) != 0 || quiet.Rows("out") != studies.Rows("out") {
		t.Errorf("problems: false quarantined %q and emitted %d rows (want none and %d)", q, quiet.Rows("out"), studies.Rows("out"))
	}
}

// TestSectionsDetectsReportChangedDuringRun (issue 17, item 11): a report
// rewritten after the stage was fingerprinted (its listing taken at
// resolve) fails the run naming it; unchanged, the run passes.
func TestSectionsDetectsReportChangedDuringRun(t *testing.T) {
	dir := tree(t, mimictest.Config{Studies: 20, Images: 20, Seed: 9, Reports: true})
	key := cxr.ReportKey(mimictest.Subject(3), mimictest.Study(3))
	rewrite := func() {
		p := filepath.Join(dir, filepath.FromSlash(key))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(b, " IMPRESSION: changed.\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, change := range []bool{false, true} {
		between := func() {}
		if change {
			between = rewrite
		}
		_, err := pt.RunAfterResolve(t, registry(t), between,
			pt.Stage("ix", "mimic.index", nil, map[string]any{"root": dir, "rows": "studies"}),
			pt.Stage("rep", "report.sections", []string{"ix"}, map[string]any{"root": dir}),
			pt.Stage("out", "test.collect", []string{"rep"}, nil))
		switch {
		case !change && err != nil:
			t.Fatalf("unchanged reports: %v", err)
		case change && (!errors.Is(err, objstore.ErrChanged) || !strings.Contains(err.Error(), key)):
			t.Fatalf("rewritten report: err = %v, want ErrChanged naming %s", err, key)
		}
	}
}
