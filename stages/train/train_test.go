package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/medflow/medflow/imaging"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/schemas/cxrschema"
	"github.com/medflow/medflow/train"
)

// side and embDim size the synthetic pairs (variables so that a local
// timing run can try the demo's 64×64).
var side, embDim = 32, 16

// Image kinds of test.pairs: float32 as drawn, uint8 pixels, or those
// pixels as float32 through testLUT (what image.decode's float32 gives).
const (
	pixFloat = iota
	pixUint8
	pixLUT
)

var testLUT = imaging.PixelLUT(0.5, 0.25)

func pairsSchema(withEmb bool, pix int) *arrow.Schema {
	img := arrow.DataType(arrow.PrimitiveTypes.Float32)
	if pix == pixUint8 {
		img = arrow.PrimitiveTypes.Uint8
	}
	nl := int32(len(cxrschema.LabelNames))
	f := []arrow.Field{
		{Name: "study_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "dicom_id", Type: arrow.BinaryTypes.String},
		{Name: "split", Type: arrow.BinaryTypes.String},
		{Name: "labels", Type: arrow.FixedSizeListOfNonNullable(nl, arrow.PrimitiveTypes.Float32)},
		{Name: "label_mask", Type: arrow.FixedSizeListOfNonNullable(nl, arrow.PrimitiveTypes.Uint8)},
		{Name: "image", Type: arrow.FixedSizeListOfNonNullable(int32(side*side), img)},
	}
	if withEmb {
		f = append(f, arrow.Field{Name: "embedding", Type: arrow.FixedSizeListOfNonNullable(int32(embDim), arrow.PrimitiveTypes.Float32)})
	}
	return arrow.NewSchema(f, nil)
}

// registerPairs adds test.pairs: n synthetic rows (4 classes; a class sets
// a bright block of the image, the embedding's prototype and label bits),
// 2 in 10 rows in split "test", 1 in 10 in "validate", in batches of 16.
func registerPairs(r *pipeline.Registry, n int, withEmb bool, pix int) {
	r.MustRegister(pipeline.Definition{Kind: "test.pairs", Doc: "test kind", Role: pipeline.RoleSource,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &pairsSrc{n: n, schema: pairsSchema(withEmb, pix), alloc: b.Alloc, pix: pix}, nil
		}})
}

type pairsSrc struct {
	n      int
	schema *arrow.Schema
	alloc  memory.Allocator
	pix    int
}

func (p *pairsSrc) Schema() *arrow.Schema { return p.schema }

func (p *pairsSrc) Produce(ctx context.Context, out pipeline.Emitter) error {
	rng := rand.New(rand.NewPCG(1, 2))
	protos := make([][]float32, 4)
	for c := range protos {
		for range embDim {
			protos[c] = append(protos[c], float32(rng.NormFloat64()))
		}
	}
	nl := len(cxrschema.LabelNames)
	for lo := 0; lo < p.n; lo += 16 {
		b := array.NewRecordBuilder(p.alloc, p.schema)
		for i := lo; i < min(p.n, lo+16); i++ {
			c := i % 4
			b.Field(0).(*array.Int64Builder).Append(int64(1000 + i))
			b.Field(1).(*array.StringBuilder).Append("d" + string(rune('a'+i%26)))
			split := "train"
			switch i % 10 {
			case 4, 9:
				split = "test"
			case 7:
				split = "validate"
			}
			b.Field(2).(*array.StringBuilder).Append(split)
			lb, mb := b.Field(3).(*array.FixedSizeListBuilder), b.Field(4).(*array.FixedSizeListBuilder)
			lb.Append(true)
			mb.Append(true)
			for k := range nl {
				lb.ValueBuilder().(*array.Float32Builder).Append(float32((c >> (k % 2)) & 1))
				mb.ValueBuilder().(*array.Uint8Builder).Append(uint8(1 - k%3/2))
			}
			ib := b.Field(5).(*array.FixedSizeListBuilder)
			ib.Append(true)
			for y := range side {
				for x := range side {
					v := float32(rng.NormFloat64() * 0.3)
					if y/(side/2) == c/2 && x/(side/2) == c%2 {
						v += 2
					}
					px := uint8(min(255, max(0, 100+50*v)))
					switch p.pix {
					case pixFloat:
						ib.ValueBuilder().(*array.Float32Builder).Append(v)
					case pixUint8:
						ib.ValueBuilder().(*array.Uint8Builder).Append(px)
					case pixLUT:
						ib.ValueBuilder().(*array.Float32Builder).Append(testLUT[px])
					}
				}
			}
			if len(p.schema.Fields()) > 6 {
				eb := b.Field(6).(*array.FixedSizeListBuilder)
				eb.Append(true)
				for k := range embDim {
					eb.ValueBuilder().(*array.Float32Builder).Append(protos[c][k] + float32(rng.NormFloat64()*0.3))
				}
			}
		}
		rec := b.NewRecordBatch()
		b.Release()
		if err := out.Emit(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

func tinyParams(extra map[string]any) map[string]any {
	p := map[string]any{"epochs": 2, "batch_size": 16, "checkpoint_every": 3, "lr": 3e-3}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func chain(contrastiveLoss string) []pipeline.StageSpec {
	return []pipeline.StageSpec{
		pipelinetest.Stage("pairs", "test.pairs", nil, nil),
		pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, tinyParams(map[string]any{
			"patch": 8, "width": 32, "depth": 1, "heads": 2, "decoder_width": 16, "decoder_depth": 1})),
		pipelinetest.Stage("con", "train.contrastive", []string{"mae", "pairs"}, tinyParams(map[string]any{"loss": contrastiveLoss})),
		pipelinetest.Stage("cls", "train.classifier", []string{"con", "pairs"}, tinyParams(nil)),
		pipelinetest.Stage("base", "train.classifier", []string{"mae", "pairs"}, tinyParams(map[string]any{"mode": "finetune"})),
		pipelinetest.Stage("pred", "predict.classify", []string{"cls", "pairs"}, nil),
		pipelinetest.Stage("out", "test.collect", []string{"pred"}, nil),
		pipelinetest.Stage("model", "test.collect", []string{"base"}, nil),
	}
}

func newRegistry(t *testing.T, withEmb bool) *pipeline.Registry {
	return newRegistryPix(t, withEmb, pixFloat)
}

func newRegistryPix(t *testing.T, withEmb bool, pix int) *pipeline.Registry {
	r := pipeline.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	registerPairs(r, 80, withEmb, pix)
	return r
}

// noBlockFiles fails t when dir holds a trainer's block file.
func noBlockFiles(t *testing.T, dir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, "medflow-train-*"))
	if err != nil || len(left) > 0 {
		t.Fatalf("block files left in %s: %v (%v)", dir, left, err)
	}
}

// TestChain runs mae -> contrastive -> classifier -> predict (and the
// MAE-only baseline classifier) end to end with a checked allocator.
func TestChain(t *testing.T) {
	for _, loss := range []string{"margin", "infonce"} {
		t.Run(loss, func(t *testing.T) {
			res, err := pipelinetest.Run(t, newRegistry(t, true), pipeline.PlanOptions{Logger: slog.New(slog.DiscardHandler)}, chain(loss)...)
			if err != nil {
				t.Fatal(err)
			}
			noBlockFiles(t, res.SpillDir)
			if got := res.Rows("out"); got != 16 {
				t.Fatalf("predictions: %d rows, want 16 (the test split)", got)
			}
			for _, row := range res.Column("out", cxrschema.ProbsColumn) {
				for _, v := range row.([]any) {
					if p := v.(float32); !(p > 0 && p < 1) {
						t.Fatalf("probability %v not in (0,1)", p)
					}
				}
			}
			if kinds := res.Column("model", schemas.CheckpointModelColumn); len(kinds) == 0 || kinds[0] != "vit-classifier" {
				t.Fatalf("baseline model table: %v", kinds)
			}
			for _, st := range []string{"mae", "con", "cls", "base"} {
				names, _ := res.Artifacts[st].List(context.Background())
				var ck int
				for _, n := range names {
					if strings.HasPrefix(n, train.CheckpointPrefix) {
						ck++
					}
				}
				b, err := res.Artifacts[st].Get(context.Background(), schemas.CurveArtifact)
				if err != nil {
					t.Fatalf("%s: %v", st, err)
				}
				curve, err := Codec{Alloc: memory.NewGoAllocator()}.DecodeCurve(b)
				var trainPts, valPts int
				for _, p := range curve {
					if p.Split == "validate" {
						valPts++
					} else {
						trainPts++
					}
				}
				// 56 train rows: 3 steps per epoch, 2 epochs; one validation row per epoch.
				if err != nil || trainPts != 6 || valPts != 2 || ck != 2 {
					t.Fatalf("%s: curve %d train + %d validate points (want 6 + 2, err %v), %d checkpoints (want 2): %v",
						st, trainPts, valPts, err, ck, names)
				}
				// The same curve as Parquet, for pandas and DuckDB.
				pq, err := res.Artifacts[st].Get(context.Background(), CurveParquet)
				if err != nil {
					t.Fatalf("%s: %v", st, err)
				}
				rdr, err := file.NewParquetReader(bytes.NewReader(pq))
				if err != nil || rdr.NumRows() != int64(len(curve)) {
					t.Fatalf("%s: %s: %v, %d rows, want %d", st, CurveParquet, err, rdr.NumRows(), len(curve))
				}
				rdr.Close()
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name   string
		emb    bool
		stages []pipeline.StageSpec
		want   string
	}{
		{"no embedding", false, chain("margin"), `"embedding"`},
		{"bad loss", true, append(chain("triplet")[:3:3], pipelinetest.Stage("o", "test.collect", []string{"con"}, nil)), "triplet"},
		{"patch does not divide", true, []pipeline.StageSpec{pipelinetest.Stage("pairs", "test.pairs", nil, nil),
			pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, map[string]any{"patch": 5}),
			pipelinetest.Stage("o", "test.collect", []string{"mae"}, nil)}, "patch 5"},
		{"pairs as checkpoint", true, []pipeline.StageSpec{pipelinetest.Stage("pairs", "test.pairs", nil, nil),
			pipelinetest.Stage("con", "train.contrastive", []string{"pairs", "pairs"}, nil),
			pipelinetest.Stage("o", "test.collect", []string{"con"}, nil)}, "checkpoint"},
		{"block_rows 0", false, maeOnly(map[string]any{"block_rows": 0}), "block_rows"},
		{"shuffle_rows 0", false, maeOnly(map[string]any{"shuffle_rows": 0}), "shuffle_rows"},
		{"pixel_std 0", false, maeOnly(map[string]any{"pixel_std": 0.0}), "pixel_std"},
		{"pixel_mean on float32", false, maeOnly(map[string]any{"pixel_mean": 0.5}), "pixel_mean"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := pipelinetest.Run(t, newRegistry(t, c.emb), pipeline.PlanOptions{}, c.stages...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming %s", err, c.want)
			}
			if !errors.Is(err, schemas.ErrMismatch) && !errors.Is(err, pipeline.ErrParamValue) {
				t.Fatalf("err %v wraps neither ErrMismatch nor ErrParamValue", err)
			}
			if n := strings.Count(err.Error(), `stage "`); n != 1 {
				t.Fatalf("err %v names the stage %d times, want once", err, n)
			}
		})
	}
}

func maeOnly(params map[string]any) []pipeline.StageSpec {
	return []pipeline.StageSpec{pipelinetest.Stage("pairs", "test.pairs", nil, nil),
		pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, params),
		pipelinetest.Stage("o", "test.collect", []string{"mae"}, nil)}
}

// TestUint8MatchesFloat32: mae (pixel_mean/pixel_std) -> fine-tuned
// classifier -> predict on uint8 pairs give bit for bit the models and
// predictions of the same chain on the float32 pairs image.decode gives
// with that mean and std (the classifier and predict take the values
// from the checkpoint); and the block files are gone after the run.
func TestUint8MatchesFloat32(t *testing.T) {
	run := func(pix int, maeExtra map[string]any) (*pipelinetest.Result, error) {
		mae := map[string]any{"patch": 8, "width": 32, "depth": 1, "heads": 2, "decoder_width": 16, "block_rows": 7, "shuffle_rows": 20}
		for k, v := range maeExtra {
			mae[k] = v
		}
		return pipelinetest.Run(t, newRegistryPix(t, false, pix), pipeline.PlanOptions{Logger: slog.New(slog.DiscardHandler)},
			pipelinetest.Stage("pairs", "test.pairs", nil, nil),
			pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, tinyParams(mae)),
			pipelinetest.Stage("cls", "train.classifier", []string{"mae", "pairs"}, tinyParams(map[string]any{"mode": "finetune", "block_rows": 5})),
			pipelinetest.Stage("pred", "predict.classify", []string{"cls", "pairs"}, nil),
			pipelinetest.Stage("m", "test.collect", []string{"mae"}, nil),
			pipelinetest.Stage("c", "test.collect", []string{"cls"}, nil),
			pipelinetest.Stage("out", "test.collect", []string{"pred"}, nil))
	}
	ref, err := run(pixLUT, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(pixUint8, map[string]any{"pixel_mean": 0.5, "pixel_std": 0.25})
	if err != nil {
		t.Fatal(err)
	}
	for _, sink := range []string{"m", "c"} {
		if !reflect.DeepEqual(tensors(t, got, sink), tensors(t, ref, sink)) {
			t.Fatalf("%s: the model trained on uint8 pairs differs from the one on float32 pairs", sink)
		}
	}
	if p := got.Column("out", cxrschema.ProbsColumn); len(p) == 0 || !reflect.DeepEqual(p, ref.Column("out", cxrschema.ProbsColumn)) {
		t.Fatalf("predictions on uint8 pairs differ from those on float32 pairs (%d rows)", len(p))
	}
	cfg := got.Column("m", schemas.CheckpointConfigColumn)
	if len(cfg) == 0 || !strings.Contains(fmt.Sprint(cfg[0]), `"pixel_mean":0.5,"pixel_std":0.25`) ||
		strings.Contains(fmt.Sprint(ref.Column("m", schemas.CheckpointConfigColumn)[0]), "pixel_") {
		t.Fatalf("model configs: uint8 %v, float32 %v", cfg[:min(1, len(cfg))], ref.Column("m", schemas.CheckpointConfigColumn)[:1])
	}
	// Without the mean and std the uint8 model sees x/255: another model.
	plain, err := run(pixUint8, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(tensors(t, plain, "m"), tensors(t, ref, "m")) {
		t.Fatalf("uint8 pairs without pixel_mean/pixel_std trained the same model")
	}
	for _, r := range []*pipelinetest.Result{ref, got, plain} {
		noBlockFiles(t, r.SpillDir)
	}
}

// TestBlockFilesRemovedOnError: a trainer that fails after writing its
// block files (no training rows) leaves none behind.
func TestBlockFilesRemovedOnError(t *testing.T) {
	res, err := pipelinetest.Run(t, newRegistry(t, false), pipeline.PlanOptions{Logger: slog.New(slog.DiscardHandler)},
		maeOnly(map[string]any{"splits": []any{"nosuch"}})...)
	if !errors.Is(err, train.ErrData) {
		t.Fatalf("err %v, want ErrData (no training rows)", err)
	}
	noBlockFiles(t, res.SpillDir)
}

// TestPredictStreams: predict.classify emits its predictions batch by
// batch as the forward pass produces them (batches of predictionRows
// rows, here 5), and every output row keeps its own ids, labels and mask
// (test.pairs derives them from the row: study 1000+i, dicom "d"+i%26,
// class i%4, mask 0 where k%3 == 2 and then label 0).
func TestPredictStreams(t *testing.T) {
	defer func(n int) { predictionRows = n }(predictionRows)
	predictionRows = 5
	res, err := pipelinetest.Run(t, newRegistry(t, true), pipeline.PlanOptions{Logger: slog.New(slog.DiscardHandler)}, chain("margin")...)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Rows("out"); got != 16 {
		t.Fatalf("predictions: %d rows, want 16 (the test split)", got)
	}
	found := false
	for _, st := range res.Run.Stats() {
		if st.Stage == "pred" {
			found = true
			if st.BatchesOut != 4 {
				t.Fatalf("predict.classify emitted %d batches for 16 rows, want 4 of at most %d", st.BatchesOut, predictionRows)
			}
		}
	}
	if !found {
		t.Fatal("no stats for stage pred")
	}
	studies, dicoms := res.Column("out", "study_id"), res.Column("out", "dicom_id")
	labels, masks := res.Column("out", cxrschema.LabelsColumn), res.Column("out", cxrschema.LabelMaskColumn)
	for r := range studies {
		i := int(studies[r].(int64) - 1000)
		if i%10 != 4 && i%10 != 9 {
			t.Fatalf("row %d: study %d is not in the test split", r, i+1000)
		}
		if want := "d" + string(rune('a'+i%26)); dicoms[r] != want {
			t.Fatalf("row %d (study %d): dicom_id %v, want %s", r, i+1000, dicoms[r], want)
		}
		c := i % 4
		for k := range cxrschema.LabelNames {
			m := uint8(1 - k%3/2)
			y := float32(0)
			if m == 1 {
				y = float32((c >> (k % 2)) & 1)
			}
			if got := labels[r].([]any)[k].(float32); got != y {
				t.Fatalf("row %d (study %d) label %d: %v, want %v", r, i+1000, k, got, y)
			}
			if got := masks[r].([]any)[k]; fmt.Sprint(got) != fmt.Sprint(m) { // schemas.Value widens
				t.Fatalf("row %d (study %d) mask %d: %v, want %v", r, i+1000, k, got, m)
			}
		}
	}
}
