package embed

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/medflow/medflow/ort"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/stages/embed/batching"
)

// ImageContract is what image.embed expects of its model: input
// [batch, channels, size, size] float32, output [batch, dim] (pooling none)
// or [batch, tokens, dim] (mean, cls).
func ImageContract(input, output string, channels, size, dim int, pooling string) ort.Contract {
	out := ort.Spec{Name: output, DType: ort.Float32, Rank: 2, Dims: []int64{-1, int64(dim)}, Doc: fmt.Sprintf("[batch, %d]", dim)}
	if pooling != "none" {
		out = ort.Spec{Name: output, DType: ort.Float32, Rank: 3, Dims: []int64{-1, -1, int64(dim)}, Doc: fmt.Sprintf("[batch, tokens, %d]", dim)}
	}
	return ort.Contract{
		Inputs: []ort.Spec{{Name: input, DType: ort.Float32, Rank: 4, Dims: []int64{-1, int64(channels), int64(size), int64(size)},
			Doc: fmt.Sprintf("[batch, %d, %d, %d]", channels, size, size)}},
		Outputs: []ort.Spec{out},
	}
}

func imageParams() []pipeline.Param {
	return append([]pipeline.Param{
		{Name: "model", Type: pipeline.String, Required: true, NonEmpty: true, Format: pipeline.FormatPath, Doc: "ONNX image encoder"},
		{Name: "column", Type: pipeline.String, Default: "image", Doc: "image tensor column, fixed_size_list<float32>[channels*size*size] (image.decode dtype float32)"},
		{Name: "dim", Type: pipeline.Int, Required: true, Range: "[1,)", Doc: "embedding size D (checked against the model when it loads)"},
		{Name: "channels", Type: pipeline.Int, Default: 1, Range: "[1,)", Doc: "image channels C: the model input is [batch, C, size, size]"},
		{Name: "size", Type: pipeline.Int, Default: 224, Range: "[1,)", Doc: "image side: the model input is [batch, channels, size, size]"},
		{Name: "input_name", Type: pipeline.String, Default: "pixel_values", Doc: "the model's input tensor"},
		{Name: "output_name", Type: pipeline.String, Default: "embedding", Doc: "the model's output tensor"},
		{Name: "pooling", Type: pipeline.String, Default: "none", Doc: "how the model output becomes one vector per image",
			Options: []pipeline.Option{
				{Value: "none", Doc: "the output is already [batch, D]"},
				{Value: "mean", Doc: "mean of the tokens of a [batch, tokens, D] output"},
				{Value: "cls", Doc: "token 0 of a [batch, tokens, D] output"},
			}},
		{Name: "batch_rows", Type: pipeline.Int, Default: 32, Range: "[1,)", Doc: "images per ORT call"},
	}, commonParams()...)
}

// ImageEmbed is image.embed.
type ImageEmbed struct {
	common
	col     int
	pixels  int
	shape   []int64 // [C, H, W]
	pooling string
	batch   int
}

func newImageEmbed(b *pipeline.BuildContext) (pipeline.Stage, error) {
	p := b.Params
	ch, size := p.Int("channels"), p.Int("size")
	s := &ImageEmbed{pooling: p.String("pooling"), batch: p.Int("batch_rows"),
		shape: []int64{int64(ch), int64(size), int64(size)}, pixels: ch * size * size}
	if err := s.init(b, p.Int("dim")); err != nil {
		return nil, err
	}
	in := b.Inputs[0]
	col, err := schemas.Column(in, p.String("column"), arrow.FIXED_SIZE_LIST)
	if err != nil {
		return nil, pipeline.AtParam("column", err)
	}
	ft := in.Field(col).Type.(*arrow.FixedSizeListType)
	if ft.Elem().ID() != arrow.FLOAT32 || int(ft.Len()) != s.pixels {
		return nil, pipeline.AtParam("column", fmt.Errorf("%w: column %q is %s, want fixed_size_list<float32>[%d] (channels %d × size %d × %d)",
			schemas.ErrMismatch, p.String("column"), ft, s.pixels, ch, size, size))
	}
	s.col = col
	// Images are keyed by the key column named, else by dicom_id: the
	// quarantine's default, study_id, is shared by a study's images.
	if p.String("key_column") == "" {
		s.keyName = ""
		if idx := in.FieldIndices("dicom_id"); len(idx) > 0 {
			s.keyName = "dicom_id"
		}
	}
	s.contract = ImageContract(p.String("input_name"), p.String("output_name"), ch, size, s.dim, s.pooling)
	s.b = batching.New[*held](b.Workers <= 1, p.Int("hold_rows"), func(int) int { return s.batch }, s.run)
	return s, nil
}

// Process queues the batch's images and emits the batches that are complete.
func (s *ImageEmbed) Process(ctx context.Context, in arrow.RecordBatch, out pipeline.Emitter) error {
	return s.fail(s.processBatch(ctx, in, out))
}

func (s *ImageEmbed) processBatch(ctx context.Context, in arrow.RecordBatch, out pipeline.Emitter) error {
	if _, err := s.load(); err != nil {
		return err
	}
	col := in.Column(s.col).(*array.FixedSizeList)
	vals := col.ListValues().(*array.Float32).Float32Values()
	n := int(in.NumRows())
	h := &held{keep: make([]int, 0, n)}
	var rows []row
	var keys []int
	for i := range n {
		if col.IsNull(i) {
			if err := s.quarantine(ctx, in, i, "null image"); err != nil {
				return err
			}
			continue
		}
		start, end := col.ValueOffsets(i)
		rows = append(rows, row{h: h, slot: len(h.keep), pixels: vals[start:end:end]})
		keys = append(keys, 0)
		h.keep = append(h.keep, i)
	}
	s.rows.Add(int64(n))
	s.embedded.Add(int64(len(rows)))
	return s.process(ctx, in, h, rows, keys, out)
}

// Flush embeds the rows still held, emits their batches and closes the model.
func (s *ImageEmbed) Flush(ctx context.Context, out pipeline.Emitter) error {
	return s.finish(ctx, out, func() []any { return nil })
}

func (s *ImageEmbed) run(ctx context.Context, rows []row) error {
	model, err := s.load()
	if err != nil {
		return err
	}
	B, D := len(rows), s.dim
	px := getFloats(B * s.pixels)
	defer putFloats(px)
	for i, r := range rows {
		copy(px[i*s.pixels:], r.pixels)
	}
	out := make([]ort.Tensor, 1)
	if err := model.Run(ctx, []ort.Tensor{{Shape: append([]int64{int64(B)}, s.shape...), Data: px}}, out); err != nil {
		return err
	}
	got := out[0].Data.([]float32)
	sh := out[0].Shape
	if sh[0] != int64(B) || sh[len(sh)-1] != int64(D) {
		return fmt.Errorf("%w: %s: output shape %v, want [%d, ..., %d]", ort.ErrRun, s.path, sh, B, D)
	}
	tokens := 1
	if len(sh) == 3 {
		tokens = int(sh[1])
	}
	for i, r := range rows {
		dst := r.h.emb[r.slot*D : (r.slot+1)*D]
		h := got[i*tokens*D : (i+1)*tokens*D]
		switch s.pooling {
		case "mean":
			poolText(dst, h, tokens, D, "mean")
		default: // none ([B, D]) or cls (token 0)
			copy(dst, h[:D])
		}
	}
	return nil
}
