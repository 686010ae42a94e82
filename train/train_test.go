package train

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/pipeline"
)

// synthData makes n 32×32 images whose content is set by one of classes
// (a bright 8×16 block at a class-specific place, plus noise), text
// embeddings that are a class vector plus noise, and labels = class bits.
func synthData(n, classes, dim int, seed uint64) (*Data, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	protos := make([][]float32, classes)
	for c := range protos {
		protos[c] = make([]float32, dim)
		for k := range dim {
			protos[c][k] = float32(rng.NormFloat64())
		}
	}
	const side = 32
	d := &Data{Side: side, EmbedDim: dim, NumLabels: 3}
	cls := make([]int, n)
	for i := range n {
		c := i % classes
		cls[i] = c
		r0, c0 := (c/4)*16, (c%4)*8
		for y := range side {
			for x := range side {
				v := float32(rng.NormFloat64() * 0.3)
				if y >= r0 && y < r0+16 && x >= c0 && x < c0+8 {
					v += 2
				}
				d.Images = append(d.Images, v)
			}
		}
		for k := range dim {
			d.Embeddings = append(d.Embeddings, protos[c][k]+float32(rng.NormFloat64()*0.3))
		}
		for l := range 3 {
			d.Labels = append(d.Labels, float32((c>>l)&1))
			d.Mask = append(d.Mask, 1)
		}
		d.StudyID = append(d.StudyID, int64(i))
		d.DicomID = append(d.DicomID, "d")
	}
	return d, cls
}

func tinyEncoder() nn.ViTConfig {
	return nn.ViTConfig{Image: 32, Patch: 8, Width: 32, Depth: 1, Heads: 2, MLPRatio: 2, Pos: "sincos"}
}

func baseConfig(epochs int) Config {
	return Config{Epochs: epochs, BatchSize: 16, LR: 3e-3, WarmupFrac: 0.1, Adam: nn.DefaultAdamW,
		ClipNorm: 1, Seed: 42, CheckpointEvery: 4}
}

func firstLast(c []CurvePoint, k int) (first, last float64) {
	for i := range k {
		first += float64(c[i].Loss)
		last += float64(c[len(c)-1-i].Loss)
	}
	return first / float64(k), last / float64(k)
}

// TestEndToEnd pretrains an MAE, trains contrastive (both losses) and a
// classifier on synthetic class-determined data: losses fall and
// image→text retrieval beats chance by a wide margin.
func TestEndToEnd(t *testing.T) {
	b, err := nn.Backend()
	if err != nil {
		t.Fatal(err)
	}
	const classes, dim = 8, 16
	data, cls := synthData(128, classes, dim, 1)
	ctx := context.Background()

	mae, err := nn.NewMAE(tinyEncoder(), nn.MAEConfig{Width: 16, Depth: 1, Heads: 2, MaskRatio: 0.75}, 1)
	if err != nil {
		t.Fatal(err)
	}
	store := pipeline.NewMemArtifacts()
	res, err := Run(ctx, baseConfig(6), Job{Name: "mae", Model: mae, Data: data, Loss: nn.MAEStep(mae.Config),
		Batch: MAEBatcher(mae.Config), Backend: b, Store: store, Codec: &memCodec{}})
	if err != nil {
		t.Fatal(err)
	}
	if f, l := firstLast(res.Curve, 4); !(l < f) {
		t.Errorf("mae loss did not fall: %g -> %g", f, l)
	}
	names, _ := store.List(ctx)
	if n := len(slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == CurveArtifact })); n != 2 {
		t.Errorf("kept %d checkpoints (%v), want 2", n, names)
	}

	for _, loss := range []string{"infonce", "margin"} {
		t.Run(loss, func(t *testing.T) {
			con, err := nn.NewContrastive(mae, nn.PoolConfig{Queries: 1, Heads: 2, EmbedDim: dim},
				nn.ContrastiveConfig{Loss: loss, Margin: 1.4, Normalize: true, TemperatureInit: 0.1}, 2)
			if err != nil {
				t.Fatal(err)
			}
			epochs := map[string]int{"infonce": 10, "margin": 20}[loss] // the margin loss learns slower
			res, err := Run(ctx, baseConfig(epochs), Job{Name: "con", Model: con, Data: data,
				Loss: nn.ContrastiveStep(con.Config), Batch: ContrastiveBatcher(), Backend: b})
			if err != nil {
				t.Fatal(err)
			}
			if f, l := firstLast(res.Curve, 4); !(l < 0.8*f) {
				t.Errorf("loss did not fall by 20%%: %g -> %g", f, l)
			}
			u, e, err := ImageEmbeddings(ctx, b, con, data, 16)
			if err != nil {
				t.Fatal(err)
			}
			// Retrieval within batches of 16 (2 examples per class): exact
			// top-1 chance is 1/16; class-level chance 1/8.
			var top1, classHit float64
			for lo := 0; lo < data.Len(); lo += 16 {
				ub, tb := u[lo*e:(lo+16)*e], data.Embeddings[lo*dim:(lo+16)*dim]
				top1 += RetrievalTop1(ub, tb, e) / 8
				classHit += classTop1(ub, tb, e, cls[lo:lo+16]) / 8
			}
			t.Logf("%s: retrieval top-1 %.3f (chance 0.0625), class top-1 %.3f (chance 0.125)", loss, top1, classHit)
			if top1 < 3*0.0625 || classHit < 4*0.125 {
				t.Errorf("retrieval does not beat chance by a wide margin: top-1 %.3f, class %.3f", top1, classHit)
			}
		})
	}
}

func classTop1(u, t []float32, e int, cls []int) float64 {
	n := len(u) / e
	hits := 0
	for i := range n {
		best, bj := -1e30, 0
		for j := range n {
			var dot, nu, nt float64
			for k := range e {
				dot += float64(u[i*e+k] * t[j*e+k])
				nu += float64(u[i*e+k] * u[i*e+k])
				nt += float64(t[j*e+k] * t[j*e+k])
			}
			if c := dot / (sqrt(nu)*sqrt(nt) + 1e-12); c > best {
				best, bj = c, j
			}
		}
		if cls[bj] == cls[i] {
			hits++
		}
	}
	return float64(hits) / float64(n)
}

func sqrt(x float64) float64 {
	z := x
	if z == 0 {
		return 0
	}
	for range 30 {
		z = (z + x/z) / 2
	}
	return z
}

// cancelAfter cancels the run after the first checkpoint is stored.
type cancelAfter struct {
	*pipeline.MemArtifacts
	cancel context.CancelFunc
	armed  bool
}

func (c *cancelAfter) Put(ctx context.Context, name string, data []byte) error {
	err := c.MemArtifacts.Put(ctx, name, data)
	if c.armed && len(name) > len(CheckpointPrefix) && name[:len(CheckpointPrefix)] == CheckpointPrefix {
		c.cancel()
		c.armed = false
	}
	return err
}

// maeResumeSetup returns the config (4 steps/epoch, 2 epochs, a checkpoint
// every 3 steps), a fresh tiny MAE, and the job training it into st.
func maeResumeSetup(t *testing.T) (Config, func() *nn.Model, func(*nn.Model, Artifacts) Job) {
	b, err := nn.Backend()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := synthData(64, 4, 8, 3)
	data.BlockRows = 5 // 13 blocks through a buffer of 8 rows
	cfg := baseConfig(2)
	cfg.CheckpointEvery = 3
	cfg.ShuffleRows = 8
	newModel := func() *nn.Model {
		m, err := nn.NewMAE(tinyEncoder(), nn.MAEConfig{Width: 16, Depth: 1, Heads: 2, MaskRatio: 0.5}, 5)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	codec := &memCodec{}
	job := func(m *nn.Model, st Artifacts) Job {
		return Job{Name: "mae", Model: m, Data: data, Loss: nn.MAEStep(m.Config), Batch: MAEBatcher(m.Config),
			Backend: b, Store: st, Codec: codec}
	}
	return cfg, newModel, job
}

// recordRows wraps j's Batcher to record the first pixel of every row
// it trains on (the rows of synthData are told apart by it).
func recordRows(j Job, rows *[]float32) Job {
	b := j.Batch
	j.Batch = func(d *Data, step int64, rng *rand.Rand) ([]*tensors.Tensor, error) {
		for i := range d.Len() {
			*rows = append(*rows, d.Images[i*d.Side*d.Side])
		}
		return b(d, step, rng)
	}
	return j
}

// TestResume kills a run right after its first checkpoint (step 3 of 4 in
// epoch 0: mid-epoch) and checks the rerun starts there, trains on the
// same rows as the uninterrupted run from there on, and ends with the
// same weights; each epoch of the uninterrupted run sees every row once.
func TestResume(t *testing.T) {
	cfg, newModel, job := maeResumeSetup(t)
	ref := newModel()
	var refRows []float32
	refRes, err := Run(context.Background(), cfg, recordRows(job(ref, pipeline.NewMemArtifacts()), &refRows))
	if err != nil {
		t.Fatal(err)
	}
	data := job(ref, nil).Data.(*Data)
	var all []float32
	for i := range data.Len() {
		all = append(all, data.Images[i*data.Side*data.Side])
	}
	slices.Sort(all)
	for e := range 2 {
		got := slices.Sorted(slices.Values(refRows[e*64 : (e+1)*64]))
		if !slices.Equal(got, all) {
			t.Fatalf("epoch %d did not train on every row once", e)
		}
	}
	if slices.Equal(refRows[:64], refRows[64:]) {
		t.Fatalf("epochs 0 and 1 trained on the rows in the same order")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &cancelAfter{MemArtifacts: pipeline.NewMemArtifacts(), cancel: cancel, armed: true}
	if _, err := Run(ctx, cfg, job(newModel(), st)); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err %v, want context.Canceled", err)
	}
	m := newModel()
	var rows []float32
	res, err := Run(context.Background(), cfg, recordRows(job(m, st), &rows))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows, refRows[3*16:]) {
		t.Fatalf("resumed run trained on other rows than the uninterrupted one from step 3")
	}
	if res.ResumedFrom != 3 {
		t.Fatalf("resumed from step %d, want 3", res.ResumedFrom)
	}
	if len(res.Curve) != len(refRes.Curve) {
		t.Fatalf("curve has %d points, uninterrupted %d", len(res.Curve), len(refRes.Curve))
	}
	for i, p := range ref.Params.List() {
		q := m.Params.List()[i]
		if p.Name != q.Name || !slices.Equal(p.Data, q.Data) {
			t.Fatalf("tensor %s differs after resume", p.Name)
		}
	}
}

// TestResumeSkipsDamagedCheckpoint: a checkpoint with one flipped bit
// (stored through dataset.Artifacts, which records its checksum) is
// detected, dropped with a warning naming it, and the rerun trains from
// the start to the same weights as an uninterrupted run, at every offset
// tried.
func TestResumeSkipsDamagedCheckpoint(t *testing.T) {
	cfg, newModel, job := maeResumeSetup(t)
	ref := newModel()
	if _, err := Run(context.Background(), cfg, job(ref, pipeline.NewMemArtifacts())); err != nil {
		t.Fatal(err)
	}
	// The checkpoint an interrupted run leaves.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mem := &cancelAfter{MemArtifacts: pipeline.NewMemArtifacts(), cancel: cancel, armed: true}
	if _, err := Run(ctx, cfg, job(newModel(), mem)); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err %v, want context.Canceled", err)
	}
	names, _ := mem.List(context.Background())
	const ck = "checkpoints/step-000003.arrow"
	ckData, err := mem.Get(context.Background(), ck)
	if err != nil {
		t.Fatalf("%v (artifacts %q)", err, names)
	}
	for _, off := range []int{0, len(ckData) / 3, len(ckData) / 2, len(ckData) - 1} {
		dir := t.TempDir()
		store, err := local.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		arts := dataset.NewArtifacts(store, "artifacts", "fp").WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))
		for _, name := range names {
			b, _ := mem.Get(context.Background(), name)
			if err := arts.Put(context.Background(), name, b); err != nil {
				t.Fatal(err)
			}
		}
		bad := slices.Clone(ckData)
		bad[off] ^= 0x10
		if err := os.WriteFile(filepath.Join(dir, "artifacts", "fp", ck), bad, 0o644); err != nil {
			t.Fatal(err)
		}
		m := newModel()
		res, err := Run(context.Background(), cfg, job(m, arts))
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		if res.ResumedFrom != 0 || !strings.Contains(logs.String(), ck) {
			t.Fatalf("offset %d: resumed from step %d (want 0: the checkpoint is damaged); log:\n%s", off, res.ResumedFrom, logs.String())
		}
		for i, p := range ref.Params.List() {
			if q := m.Params.List()[i]; p.Name != q.Name || !slices.Equal(p.Data, q.Data) {
				t.Fatalf("offset %d: tensor %s differs from an uninterrupted run", off, p.Name)
			}
		}
	}
}

func TestSteadyImagesPerS(t *testing.T) {
	pts := func(v ...float32) []CurvePoint {
		var c []CurvePoint
		for i, x := range v {
			c = append(c, CurvePoint{Step: int64(i + 1), Split: "train", ImagesPerS: x},
				CurvePoint{Step: int64(i + 1), Split: "validate", Loss: 9})
		}
		return c
	}
	for _, tc := range []struct {
		name  string
		curve []CurvePoint
		want  float64
	}{
		{"empty", nil, 0},
		{"one step", pts(5), 0},
		{"first step dropped", pts(1, 10), 10},
		{"odd median", pts(1, 30, 10, 20), 20},
		{"even median", pts(1, 10, 40, 20, 30), 25},
	} {
		r := Result{Curve: tc.curve}
		if got := r.SteadyImagesPerS(); got != tc.want {
			t.Errorf("%s: SteadyImagesPerS = %g, want %g", tc.name, got, tc.want)
		}
	}
}

// TestNonFiniteStopsRun: a batch with a NaN pixel at step 2 stops the run
// with nn.ErrNonFinite naming that step, and the model holds the weights of
// the last good step (finite, moved from the initial ones).
func TestNonFiniteStopsRun(t *testing.T) {
	cfg, newModel, job := maeResumeSetup(t)
	m := newModel()
	init := m.Params.Clone()
	j := job(m, nil)
	good := j.Batch
	j.Batch = func(batch *Data, step int64, rng *rand.Rand) ([]*tensors.Tensor, error) {
		d, err := good(batch, step, rng)
		if err != nil || step != 2 {
			return d, err
		}
		flat, err := tensors.CopyFlatData[float32](d[0])
		if err != nil {
			return nil, err
		}
		flat[5] = float32(math.NaN())
		dims := d[0].Shape().Dimensions
		_ = d[0].FinalizeAll()
		d[0] = nn.F32(flat, dims...)
		return d, nil
	}
	_, err := Run(context.Background(), cfg, j)
	if !errors.Is(err, nn.ErrNonFinite) || !strings.Contains(err.Error(), "step 2:") {
		t.Fatalf("err %v, want ErrNonFinite at step 2", err)
	}
	moved := false
	for i, p := range m.Params.List() {
		for _, x := range p.Data {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s holds a non-finite weight after the stopped run", p.Name)
			}
		}
		moved = moved || !slices.Equal(p.Data, init.List()[i].Data)
	}
	if !moved {
		t.Fatalf("the model does not hold the two good steps' weights")
	}
}
