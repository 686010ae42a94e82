package train

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/train"
)

// ErrTable is wrapped by errors reading a model table.
var ErrTable = errors.New("train: bad model table")

// optPrefix names optimizer-state rows in a checkpoint table.
const optPrefix = "opt/"

// ModelRecord returns the model as a schemas.Checkpoint batch: one row per
// tensor, then one row per extra tensor (optimizer state in checkpoints).
func ModelRecord(alloc memory.Allocator, m *nn.Model, extra ...*nn.Tensor) arrow.RecordBatch {
	return modelRecord(alloc, schemas.Checkpoint, m, extra)
}

func modelRecord(alloc memory.Allocator, schema *arrow.Schema, m *nn.Model, extra []*nn.Tensor) arrow.RecordBatch {
	b := array.NewRecordBuilder(alloc, schema)
	defer b.Release()
	kind := b.Field(0).(*array.StringBuilder)
	cfg := b.Field(1).(*array.StringBuilder)
	name := b.Field(2).(*array.StringBuilder)
	shape := b.Field(3).(*array.ListBuilder)
	shapeV := shape.ValueBuilder().(*array.Int64Builder)
	vals := b.Field(4).(*array.ListBuilder)
	valsV := vals.ValueBuilder().(*array.Float32Builder)
	js := m.Config.JSON()
	for _, t := range append(append([]*nn.Tensor{}, m.Params.List()...), extra...) {
		kind.Append(m.Kind)
		cfg.Append(js)
		name.Append(t.Name)
		shape.Append(true)
		for _, d := range t.Shape {
			shapeV.Append(int64(d))
		}
		vals.Append(true)
		valsV.AppendValues(t.Data, nil)
	}
	return b.NewRecordBatch()
}

// CheckModelSchema verifies that s has the model table's columns by name.
func CheckModelSchema(s *arrow.Schema) error {
	for _, f := range schemas.Checkpoint.Fields() {
		idx := s.FieldIndices(f.Name)
		if len(idx) != 1 {
			return fmt.Errorf("%w: column %q missing (a model table has %s)", schemas.ErrMismatch, f.Name, columnNames(schemas.Checkpoint))
		}
		if got := s.Field(idx[0]).Type; !arrow.TypeEqual(got, f.Type) {
			return fmt.Errorf("%w: column %q is %s, want %s", schemas.ErrMismatch, f.Name, got, f.Type)
		}
	}
	return nil
}

func columnNames(s *arrow.Schema) string {
	var n []string
	for _, f := range s.Fields() {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}

// ModelReader accumulates model-table batches into a model.
type ModelReader struct {
	kind, config string
	params       *nn.Params
	extra        []*nn.Tensor
}

// NewModelReader returns an empty reader.
func NewModelReader() *ModelReader { return &ModelReader{params: nn.NewParams()} }

// Add reads the rows of b (borrowed).
func (r *ModelReader) Add(b arrow.RecordBatch) error {
	if err := CheckModelSchema(b.Schema()); err != nil {
		return err
	}
	col := func(name string) arrow.Array { return b.Column(b.Schema().FieldIndices(name)[0]) }
	kind := col(schemas.CheckpointModelColumn).(*array.String)
	cfg := col(schemas.CheckpointConfigColumn).(*array.String)
	name := col(schemas.CheckpointNameColumn).(*array.String)
	shape := col(schemas.CheckpointShapeColumn).(*array.List)
	shapeV := shape.ListValues().(*array.Int64)
	vals := col(schemas.CheckpointValuesColumn).(*array.List)
	valsV := vals.ListValues().(*array.Float32)
	for i := range int(b.NumRows()) {
		if kind.IsNull(i) || cfg.IsNull(i) || name.IsNull(i) || shape.IsNull(i) || vals.IsNull(i) {
			return fmt.Errorf("%w: row %d has a null", ErrTable, i)
		}
		if r.kind == "" {
			r.kind, r.config = strings.Clone(kind.Value(i)), strings.Clone(cfg.Value(i)) // they outlive the batch
		} else if kind.Value(i) != r.kind || cfg.Value(i) != r.config {
			return fmt.Errorf("%w: tensor %q: rows mix models (%q and %q) or configs", ErrTable, name.Value(i), r.kind, kind.Value(i))
		}
		s0, s1 := shape.ValueOffsets(i)
		dims := make([]int, 0, s1-s0)
		for k := s0; k < s1; k++ {
			dims = append(dims, int(shapeV.Value(int(k))))
		}
		v0, v1 := vals.ValueOffsets(i)
		t := &nn.Tensor{Name: strings.Clone(name.Value(i)), Shape: dims, Data: append([]float32(nil), valsV.Float32Values()[v0:v1]...)}
		if nn.Size(dims) != len(t.Data) {
			return fmt.Errorf("%w: tensor %q: shape %v but %d values", ErrTable, t.Name, dims, len(t.Data))
		}
		if strings.HasPrefix(t.Name, optPrefix) {
			r.extra = append(r.extra, t)
			continue
		}
		if r.params.Get(t.Name) != nil {
			return fmt.Errorf("%w: tensor %q appears twice", ErrTable, t.Name)
		}
		r.params.Add(t)
	}
	return nil
}

// Model returns the model read so far, checked against its config.
func (r *ModelReader) Model() (*nn.Model, error) {
	if r.kind == "" {
		return nil, fmt.Errorf("%w: no rows", ErrTable)
	}
	cfg, err := nn.ParseConfig(r.config)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTable, err)
	}
	m := &nn.Model{Kind: r.kind, Config: cfg, Params: r.params}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTable, err)
	}
	return m, nil
}

// Codec is train.Codec with Arrow IPC files: checkpoints are model tables
// (schemas.Checkpoint) and curves schemas.TrainingCurve tables.
type Codec struct {
	Alloc memory.Allocator
}

var _ train.Codec = Codec{}

// EncodeCheckpoint writes c as an Arrow IPC file: the model table plus
// rows opt/m/<name> and opt/v/<name>, with the step in the schema metadata.
func (x Codec) EncodeCheckpoint(c *train.Checkpoint) ([]byte, error) {
	alloc := x.Alloc
	var extra []*nn.Tensor
	for _, t := range c.Model.Params.List() {
		if m, ok := c.Opt.M[t.Name]; ok {
			extra = append(extra,
				&nn.Tensor{Name: optPrefix + "m/" + t.Name, Shape: t.Shape, Data: m},
				&nn.Tensor{Name: optPrefix + "v/" + t.Name, Shape: t.Shape, Data: c.Opt.V[t.Name]})
		}
	}
	md := arrow.NewMetadata([]string{"step", "adam_step"},
		[]string{strconv.FormatInt(c.Step, 10), strconv.FormatInt(c.Opt.Step, 10)})
	schema := arrow.NewSchema(schemas.Checkpoint.Fields(), &md)
	rec := modelRecord(alloc, schema, c.Model, extra)
	defer rec.Release()
	data, err := formats.Encode(rec, formats.IPC, alloc, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", train.ErrCheckpoint, err)
	}
	return data, nil
}

// DecodeCheckpoint reads what EncodeCheckpoint wrote; adam's
// hyper-parameters come from cfg.
func (x Codec) DecodeCheckpoint(data []byte, cfg nn.AdamWConfig) (*train.Checkpoint, error) {
	rec, err := formats.DecodeIPC(data, x.Alloc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", train.ErrCheckpoint, err)
	}
	defer rec.Release()
	md := rec.Schema().Metadata()
	step, err1 := strconv.ParseInt(md.Values()[max(0, md.FindKey("step"))], 10, 64)
	astep, err2 := strconv.ParseInt(md.Values()[max(0, md.FindKey("adam_step"))], 10, 64)
	if md.FindKey("step") < 0 || md.FindKey("adam_step") < 0 || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: schema metadata lacks step/adam_step", train.ErrCheckpoint)
	}
	mr := NewModelReader()
	if err := mr.Add(rec); err != nil {
		return nil, fmt.Errorf("%w: %w", train.ErrCheckpoint, err)
	}
	m, err := mr.Model()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", train.ErrCheckpoint, err)
	}
	opt := nn.NewAdamW(cfg)
	opt.Step = astep
	for _, t := range mr.extra {
		rest := strings.TrimPrefix(t.Name, optPrefix)
		switch {
		case strings.HasPrefix(rest, "m/"):
			opt.M[rest[2:]] = t.Data
		case strings.HasPrefix(rest, "v/"):
			opt.V[rest[2:]] = t.Data
		default:
			return nil, fmt.Errorf("%w: unknown optimizer row %q", train.ErrCheckpoint, t.Name)
		}
	}
	return &train.Checkpoint{Model: m, Opt: opt, Step: step}, nil
}

// EncodeCurve writes points as an Arrow IPC file of schemas.TrainingCurve.
func (x Codec) EncodeCurve(points []train.CurvePoint) ([]byte, error) {
	return x.encodeCurve(points, formats.IPC)
}

// CurveParquet is the training curve as a Parquet file, written beside
// the Arrow one when training ends, for tools without an Arrow IPC reader
// (pandas.read_parquet, DuckDB, spreadsheets through either).
const CurveParquet = "curve.parquet"

func (x Codec) encodeCurve(points []train.CurvePoint, f formats.Format) ([]byte, error) {
	alloc := x.Alloc
	b := array.NewRecordBuilder(alloc, schemas.TrainingCurve)
	defer b.Release()
	for _, p := range points {
		b.Field(0).(*array.Int64Builder).Append(p.Step)
		b.Field(1).(*array.Int32Builder).Append(p.Epoch)
		b.Field(2).(*array.StringBuilder).Append(p.Split)
		b.Field(3).(*array.Float32Builder).Append(p.Loss)
		b.Field(4).(*array.Float32Builder).Append(p.LR)
		b.Field(5).(*array.Float32Builder).Append(p.GradNorm)
		b.Field(6).(*array.Float32Builder).Append(p.ImagesPerS)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	data, err := formats.Encode(rec, f, alloc, "")
	if err != nil {
		return nil, fmt.Errorf("train: write curve: %w", err)
	}
	return data, nil
}

// DecodeCurve reads what EncodeCurve wrote.
func (x Codec) DecodeCurve(data []byte) ([]train.CurvePoint, error) {
	rec, err := formats.DecodeIPC(data, x.Alloc)
	if err != nil {
		return nil, fmt.Errorf("train: read curve: %w", err)
	}
	defer rec.Release()
	if !rec.Schema().Equal(schemas.TrainingCurve) {
		return nil, fmt.Errorf("train: read curve: %w: schema %s", schemas.ErrMismatch, rec.Schema())
	}
	out := make([]train.CurvePoint, rec.NumRows())
	for i := range out {
		out[i] = train.CurvePoint{
			Step:       rec.Column(0).(*array.Int64).Value(i),
			Epoch:      rec.Column(1).(*array.Int32).Value(i),
			Split:      strings.Clone(rec.Column(2).(*array.String).Value(i)), // rec is released on return
			Loss:       rec.Column(3).(*array.Float32).Value(i),
			LR:         rec.Column(4).(*array.Float32).Value(i),
			GradNorm:   rec.Column(5).(*array.Float32).Value(i),
			ImagesPerS: rec.Column(6).(*array.Float32).Value(i),
		}
	}
	return out, nil
}
