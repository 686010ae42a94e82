package eval

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/schemas/cxrschema"
)

// handImages: labels 0 (Atelectasis) and 1 (Cardiomegaly) are known, the
// other 12 masked. Per study (mean over images):
//
//	study 10: (.9,.2) and (.7,.4) -> (.8,.3), truth (1,0)
//	study 11: (.375,.6), truth (0,1)
//	study 12: (.625,.1) and (.125,.1) -> (.375,.1), truth (1,0)
//	study 13: (.3,.55), truth (0,0)
//
// (Atelectasis values are exact in float32, so studies 11 and 12 tie.)
// Study 14's images disagree on labels and study 15's only image has a NaN
// probability: both are quarantined and left out.
func handImages() []image {
	m := []uint8{1, 1}
	return []image{
		img(10, "a", []float32{0.9, 0.2}, []float32{1, 0}, m),
		img(11, "c", []float32{0.375, 0.6}, []float32{0, 1}, m),
		img(12, "d", []float32{0.625, 0.1}, []float32{1, 0}, m),
		img(14, "g", []float32{0.5, 0.5}, []float32{1, 0}, m),
		img(10, "b", []float32{0.7, 0.4}, []float32{1, 0}, m),
		img(13, "f", []float32{0.3, 0.55}, []float32{0, 0}, m),
		img(12, "e", []float32{0.125, 0.1}, []float32{1, 0}, m),
		img(14, "h", []float32{0.5, 0.5}, []float32{0, 0}, m),
		img(15, "i", []float32{float32(math.NaN()), 0.5}, []float32{1, 0}, m),
	}
}

func approx(t *testing.T, what string, got any, want float64) {
	t.Helper()
	g, ok := got.(float64)
	if !ok && !math.IsNaN(want) {
		t.Errorf("%s = %v (%T), want %v", what, got, got, want)
		return
	}
	if math.IsNaN(want) {
		if got != nil {
			t.Errorf("%s = %v, want null", what, got)
		}
		return
	}
	if math.Abs(g-want) > 1e-6 {
		t.Errorf("%s = %v, want %v", what, g, want)
	}
}

func TestLabelsByHand(t *testing.T) {
	res, err := pipelinetest.Run(t, newRegistry(t, handImages()), pipeline.PlanOptions{},
		st("pred", "test.predictions", nil, nil),
		st("labels", KindLabels, []string{"pred"}, map[string]any{"model": "mine"}),
		st("out", "test.collect", []string{"labels"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Rows("out"); got != len(cxrschema.LabelNames) {
		t.Fatalf("%d rows, want one per label (%d)", got, len(cxrschema.LabelNames))
	}
	col := func(name string, i int) any { return res.Column("out", name)[i] }
	for i, want := range []struct {
		n, pos       int64
		auc, acc, f1 float64
		ap           float64
	}{
		// Atelectasis: pos .8 .375, neg .375 .3: (.8,.375) (.8,.3) (.375,.3) ordered, (.375,.375) tied -> 3.5/4
		// at .5: TP .8, FN .375 -> acc 3/4, F1 2/3; AP: .8 (P 1, R .5), .375 (P 2/3, R 1) -> .5 + 1/3
		{4, 2, 0.875, 0.75, 2.0 / 3, 0.5 + 1.0/3},
		// Cardiomegaly: pos .6, neg .3 .1 .55 -> AUC 1, AP 1; .55 is a false positive
		{4, 1, 1, 0.75, 2.0 / 3, 1},
	} {
		name := cxrschema.LabelNames[i]
		if col("label", i) != name || col("model", i) != "mine" || col("n", i) != want.n || col("positives", i) != want.pos ||
			col("status", i) != "ok" || col("in_mean", i) != true {
			t.Errorf("row %d: label %v model %v n %v positives %v status %v in_mean %v", i, col("label", i), col("model", i),
				col("n", i), col("positives", i), col("status", i), col("in_mean", i))
		}
		approx(t, name+" auc", col("auc", i), want.auc)
		approx(t, name+" accuracy", col("accuracy", i), want.acc)
		approx(t, name+" f1", col("f1", i), want.f1)
		approx(t, name+" ap", col("average_precision", i), want.ap)
		approx(t, name+" prevalence", col("prevalence", i), float64(want.pos)/float64(want.n))
	}
	for i := 2; i < len(cxrschema.LabelNames); i++ {
		if col("status", i) != "no studies" || col("auc", i) != nil || col("in_mean", i) != false {
			t.Errorf("masked label %s: status %v auc %v", cxrschema.LabelNames[i], col("status", i), col("auc", i))
		}
	}
	q := res.Run.Quarantined()
	if len(q) != 2 || !strings.Contains(q[0].Key+q[1].Key, "study 14") || !strings.Contains(q[0].Key+q[1].Key, "study 15 image i") {
		t.Errorf("quarantined %+v, want study 14 (disagreeing images) and study 15 image i (NaN)", q)
	}

	arts := res.Artifacts["labels"]
	names, _ := arts.List(context.Background())
	for _, want := range []string{"labels.arrow", "labels.parquet", "predictions.arrow", "predictions.parquet", "roc.png", "roc.svg"} {
		if _, err := arts.Get(context.Background(), want); err != nil {
			t.Errorf("artifact %s: %v (have %v)", want, err, names)
		}
	}
	// the long predictions table, read back from Parquet
	pq, _ := arts.Get(context.Background(), "predictions.parquet")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rdr, err := file.NewParquetReader(bytes.NewReader(pq), file.WithReadProps(nil))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != 4*int64(len(cxrschema.LabelNames)) {
		t.Errorf("predictions.parquet has %d rows, want 4 studies x %d labels", tbl.NumRows(), len(cxrschema.LabelNames))
	}
	if kv := rdr.MetaData().KeyValueMetadata(); kv.FindValue("medflow.eval.study_rule") == nil {
		t.Errorf("predictions.parquet has no rule in its key-value metadata: %v", kv.Keys())
	}
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	tr.Next()
	rec := tr.RecordBatch()
	if id, p := rec.Column(1).(*array.Int64).Value(0), rec.Column(3).(*array.Float64).Value(0); id != 10 || math.Abs(p-0.8) > 1e-6 {
		t.Errorf("first prediction: study %d probability %v, want study 10 mean (.9+.7)/2", id, p)
	}
	// The model column tells arms apart when several files are read as one.
	if m := rec.Column(0).(*array.String).Value(0); rec.Schema().Field(0).Name != "model" || m == "" {
		t.Errorf("predictions' first column is %q = %q, want the model name", rec.Schema().Field(0).Name, m)
	}
}

func TestSummaryAndCompare(t *testing.T) {
	imgs := handImages()
	other := append([]image(nil), imgs[:3]...) // studies 10, 11, 12 with study 10's first image only
	reg := newRegistry(t, imgs)
	registerPredictions(reg, "test.other", other, 5)
	res, err := pipelinetest.Run(t, reg, pipeline.PlanOptions{},
		st("pred", "test.predictions", nil, nil),
		st("pred2", "test.other", nil, nil),
		st("a", KindSummary, []string{"pred"}, map[string]any{"model": "a", "bootstrap": 300, "seed": 3}),
		st("b", KindSummary, []string{"pred"}, map[string]any{"model": "b", "bootstrap": 300, "seed": 3}),
		st("c", KindSummary, []string{"pred2"}, map[string]any{"model": "c", "bootstrap": 0}),
		st("sa", "test.collect", []string{"a"}, nil),
		st("cmp", KindCompare, []string{"a", "b"}, nil),
		st("cmp3", KindCompare, []string{"a", "b", "c"}, nil),
		st("scmp", "test.collect", []string{"cmp"}, nil),
		st("scmp3", "test.collect", []string{"cmp3"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	c := func(name string) any { return res.Column("sa", name)[0] }
	if c("n_studies") != int64(4) || c("n_scored") != int64(4) || c("n_images") != int64(6) || c("labels_in_mean") != int64(2) ||
		c("bootstrap") != int64(300) || c("seed") != int64(3) {
		t.Errorf("counts: studies %v scored %v images %v labels_in_mean %v bootstrap %v seed %v", c("n_studies"), c("n_scored"),
			c("n_images"), c("labels_in_mean"), c("bootstrap"), c("seed"))
	}
	approx(t, "mean_auc", c("mean_auc"), (0.875+1)/2)
	// study 10 right, 11 right, 12 wrong (.375 under a positive), 13 wrong (.55 over a negative)
	approx(t, "exact_match", c("exact_match"), 0.5)
	// only study 13 has no positive; both label prevalences (.5, .25) are not above .5
	approx(t, "exact_match_all_negative", c("exact_match_all_negative"), 0.25)
	approx(t, "exact_match_prevalence", c("exact_match_prevalence"), 0.25)
	approx(t, "mean_auc_prevalence", c("mean_auc_prevalence"), 0.5)
	for _, m := range []string{"mean_auc", "exact_match"} {
		lo, hi, v := c(m+"_ci_low").(float64), c(m+"_ci_high").(float64), c(m).(float64)
		if !(lo <= v && v <= hi && lo < hi) {
			t.Errorf("%s %v not inside [%v, %v]", m, v, lo, hi)
		}
	}
	if aucs := c("label_auc").([]any); len(aucs) != len(cxrschema.LabelNames) || aucs[0] != 0.875 || aucs[2] != nil {
		t.Errorf("label_auc %v", aucs)
	}

	models := res.Column("scmp", "model")
	roles := res.Column("scmp", "role")
	want := []string{"a", "b", "all-negative", "prevalence-only"}
	if len(models) != len(want) {
		t.Fatalf("compare rows %v, want %v", models, want)
	}
	for i, w := range want {
		if models[i] != w || (roles[i] == "model") != (i < 2) {
			t.Errorf("compare row %d: %v (%v), want %s", i, models[i], roles[i], w)
		}
	}
	approx(t, "compare a accuracy", res.Column("scmp", "exact_match")[0], 0.5)
	approx(t, "compare all-negative accuracy", res.Column("scmp", "exact_match")[2], 0.25)
	approx(t, "compare all-negative mean auc", res.Column("scmp", "mean_auc")[2], 0.5)
	if m3 := res.Column("scmp3", "model"); len(m3) != 7 || m3[3] != "all-negative (a)" || m3[4] != "all-negative (c)" {
		t.Errorf("compare with another study set: rows %v, want baselines named per model", m3)
	}
	for _, name := range []string{"compare.arrow", "compare.parquet", "auc_bars.png", "auc_bars.svg"} {
		if _, err := res.Artifacts["cmp"].Get(context.Background(), name); err != nil {
			t.Errorf("artifact %s: %v", name, err)
		}
	}
	// the stored summary equals the emitted one
	data, err := res.Artifacts["a"].Get(context.Background(), "summary.arrow")
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec, err := formats.DecodeIPC(data, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if !rec.Schema().Equal(SummarySchema) || pipelinetest.Value(rec.Column(5), 0) != c("mean_auc") {
		t.Errorf("summary.arrow: schema %v, mean_auc %v", rec.Schema(), pipelinetest.Value(rec.Column(5), 0))
	}
}

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stages []pipeline.StageSpec
		want   error
	}{
		{"threshold out of range", []pipeline.StageSpec{st("pred", "test.predictions", nil, nil),
			st("l", KindLabels, []string{"pred"}, map[string]any{"threshold": 2.0})}, pipeline.ErrParamValue},
		{"negative bootstrap", []pipeline.StageSpec{st("pred", "test.predictions", nil, nil),
			st("s", KindSummary, []string{"pred"}, map[string]any{"bootstrap": -1})}, pipeline.ErrParamValue},
		{"not predictions", []pipeline.StageSpec{st("pred", "test.predictions", nil, nil),
			st("l", KindLabels, []string{"pred"}, nil), st("l2", KindLabels, []string{"l"}, nil)}, pipeline.ErrSchemaMismatch},
		{"compare needs summaries", []pipeline.StageSpec{st("pred", "test.predictions", nil, nil),
			st("l", KindLabels, []string{"pred"}, nil), st("s", KindSummary, []string{"pred"}, nil),
			st("c", KindCompare, []string{"s", "l"}, nil)}, pipeline.ErrSchemaMismatch},
		{"compare needs two", []pipeline.StageSpec{st("pred", "test.predictions", nil, nil),
			st("s", KindSummary, []string{"pred"}, nil), st("c", KindCompare, []string{"s"}, nil)}, pipeline.ErrInputCount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pipelinetest.Run(t, newRegistry(t, handImages()), pipeline.PlanOptions{}, tc.stages...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDefaultModelIsVariant(t *testing.T) {
	res, err := pipelinetest.Run(t, newRegistry(t, handImages()), pipeline.PlanOptions{},
		st("pred", "test.predictions", nil, nil),
		st("l", KindLabels, []string{"pred"}, nil),
		st("out", "test.collect", []string{"l"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Column("out", "model")[0]; m != "test" {
		t.Errorf("model %v, want the variant name test", m)
	}
}
