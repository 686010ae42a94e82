// Package evaltest supplies predictions to tests of the evaluation stages
// and of what reads their artifacts (report, the CLI): a source kind
// emitting cxrschema.Predictions rows given as Go values, and a seeded
// generator of plausible predictions. It is test support: no stage of a
// real pipeline uses it.
package evaltest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas/cxrschema"
)

// Image is one predictions row. Probs, Labels and Mask may be shorter than
// the 14 labels: the rest is 0 (so masked).
type Image struct {
	Study  int64
	Dicom  string
	Probs  []float32
	Labels []float32
	Mask   []uint8
}

// Register adds a source kind emitting imgs as cxrschema.Predictions batches
// of at most batch rows.
func Register(reg *pipeline.Registry, kind string, imgs []Image, batch int) error {
	if batch <= 0 {
		return fmt.Errorf("evaltest: batch %d: want > 0", batch)
	}
	return reg.Register(pipeline.Definition{Kind: kind, Role: pipeline.RoleSource, Version: "1",
		Doc: "test predictions",
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &source{imgs: imgs, batch: batch, mem: b.Alloc}, nil
		}})
}

type source struct {
	imgs  []Image
	batch int
	mem   memory.Allocator
}

func (s *source) Schema() *arrow.Schema { return cxrschema.Predictions }

func (s *source) Produce(ctx context.Context, out pipeline.Emitter) error {
	for start := 0; start < len(s.imgs); start += s.batch {
		if err := out.Emit(ctx, Batch(s.mem, s.imgs[start:min(start+s.batch, len(s.imgs))])); err != nil {
			return err
		}
	}
	return nil
}

// Batch builds imgs as one cxrschema.Predictions record.
func Batch(mem memory.Allocator, imgs []Image) arrow.RecordBatch {
	L := len(cxrschema.LabelNames)
	b := array.NewRecordBuilder(mem, cxrschema.Predictions)
	defer b.Release()
	for _, im := range imgs {
		b.Field(0).(*array.Int64Builder).Append(im.Study)
		b.Field(1).(*array.StringBuilder).Append(im.Dicom)
		for c, vals := range [][]float32{im.Probs, im.Labels} {
			lb := b.Field(2 + c).(*array.FixedSizeListBuilder)
			lb.Append(true)
			full := make([]float32, L)
			copy(full, vals)
			lb.ValueBuilder().(*array.Float32Builder).AppendValues(full, nil)
		}
		lb := b.Field(4).(*array.FixedSizeListBuilder)
		lb.Append(true)
		mask := make([]uint8, L)
		copy(mask, im.Mask)
		lb.ValueBuilder().(*array.Uint8Builder).AppendValues(mask, nil)
	}
	return b.NewRecordBatch()
}

// Synth makes studies studies of 1 or 2 images each with all 14 labels:
// label l is positive with probability 0.05 + 0.3 l/14, about 1 in 10
// labels is masked, and the probabilities carry signal of strength skill
// (0: none; 2: strong).
func Synth(studies int, skill float64, seed uint64) []Image {
	rng := rand.New(rand.NewPCG(seed, 2))
	L := len(cxrschema.LabelNames)
	var out []Image
	for s := range studies {
		labels, mask := make([]float32, L), make([]uint8, L)
		for l := range L {
			if rng.Float64() < 0.05+0.3*float64(l)/float64(L) {
				labels[l] = 1
			}
			if rng.IntN(10) > 0 {
				mask[l] = 1
			}
		}
		for im := range 1 + rng.IntN(2) {
			probs := make([]float32, L)
			for l := range L {
				z := rng.NormFloat64() + skill*float64(labels[l]) - 1.5
				probs[l] = float32(1 / (1 + math.Exp(-z)))
			}
			out = append(out, Image{Study: int64(50_000_000 + s), Dicom: fmt.Sprintf("img-%d-%d", s, im),
				Probs: probs, Labels: labels, Mask: mask})
		}
	}
	return out
}
