package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sourcegraph/conc/pool"

	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/imaging"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/stages/stagekit"
)

// Column names added after the input columns.
const (
	ImageColumn      = "image"
	OrigWidthColumn  = "orig_width"
	OrigHeightColumn = "orig_height"
)

// Register adds image.decode to r.
func Register(r *pipeline.Registry, d stagekit.Deps) error {
	if err := d.Check("image"); err != nil {
		return err
	}
	return r.Register(pipeline.Definition{
		Kind: "image.decode", Role: pipeline.RoleTransform, Version: "1",
		Doc: "decode JPEG/PNG (by path under root, or bytes) to size×size grayscale tensors; bad files are quarantined",
		Params: []pipeline.Param{
			{Name: "path_column", Type: pipeline.String, Doc: "string column of keys relative to root (or use bytes_column)"},
			{Name: "root", Type: pipeline.String, Format: pipeline.FormatURI, Doc: "folder or s3://bucket/prefix the keys are relative to"},
			{Name: "bytes_column", Type: pipeline.String, Doc: "binary column holding the encoded files"},
			{Name: "key_column", Type: pipeline.String, Doc: "column naming a record in the quarantine (default: the path)"},
			{Name: "size", Type: pipeline.Int, Default: 224, Range: "[1,8192]", Doc: "output side N: image is N×N"},
			{Name: "fit", Type: pipeline.String, Default: "cover", Doc: "how the image becomes N×N",
				Options: []pipeline.Option{
					{Value: "cover", Doc: "shorter side = N, center crop"},
					{Value: "contain", Doc: "longer side = N, pad with 0"},
				}},
			{Name: "dtype", Type: pipeline.String, Default: "uint8", Doc: "pixel type of the image column",
				Options: []pipeline.Option{
					{Value: "uint8", Doc: "gray levels 0..255 (4x smaller; trainers normalise)"},
					{Value: "float32", Doc: "(x/255 - mean)/std"},
				}},
			{Name: "mean", Type: pipeline.Float, Default: 0.0, Doc: "float32 only: subtracted from x/255"},
			{Name: "std", Type: pipeline.Float, Default: 1.0, Doc: "float32 only: divides x/255 - mean; not 0"},
			{Name: "max_pixels", Type: pipeline.Int, Default: imaging.DefaultMaxPixels, Range: "[1,)", Doc: "reject larger images from the header (decompression bombs)"},
			{Name: "rows_column", Type: pipeline.String, Doc: "integer column with the expected height (DICOM Rows); null: not checked"},
			{Name: "columns_column", Type: pipeline.String, Doc: "integer column with the expected width (DICOM Columns); null: not checked"},
			{Name: "max_bytes", Type: pipeline.Int, Default: 256 << 20, Range: "[1,)", Doc: "quarantine files larger than this without reading them whole"},
			{Name: "batch_rows", Type: pipeline.Int, Default: 256, Range: "[1,)", Doc: "most rows per output batch"},
		},
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newDecode(b, d) },
	})
}

// Decode is image.decode.
type Decode struct {
	root     string
	store    *stagekit.Store
	snap     *objstore.Snapshot // what InputFingerprint listed, checked again at read
	pathCol  int                // -1 unless path mode
	bytesCol int                // -1 unless bytes mode
	keyCol   int                // -1: default key
	rowsCol  int                // -1: no check
	colsCol  int                // -1: no check
	float    bool
	size     int
	batch    int
	maxBytes int64
	dec      *imaging.Decoder
	schema   *arrow.Schema
	imgType  *arrow.FixedSizeListType
	alloc    memory.Allocator
	q        pipeline.Quarantine
	log      *slog.Logger
	sem      chan struct{} // bounds decodes in flight across concurrent Process calls

	rows, decoded, quarantined atomic.Int64
}

var intTypes = []arrow.Type{arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16,
	arrow.UINT32, arrow.UINT64}

func optColumn(in *arrow.Schema, name string, ids ...arrow.Type) (int, error) {
	if name == "" {
		return -1, nil
	}
	return schemas.Column(in, name, ids...)
}

func newDecode(b *pipeline.BuildContext, d stagekit.Deps) (pipeline.Stage, error) {
	in := b.Inputs[0]
	p := b.Params
	s := &Decode{root: p.String("root"), store: stagekit.NewStore(d.Open, p.String("root")), size: p.Int("size"), batch: p.Int("batch_rows"),
		maxBytes: int64(p.Int("max_bytes")), alloc: b.Alloc, q: b.Quarantine, log: b.Logger,
		sem: make(chan struct{}, max(1, b.Workers))}
	pathName, bytesName := p.String("path_column"), p.String("bytes_column")
	switch {
	case (pathName == "") == (bytesName == ""):
		return nil, pipeline.ParamErrorf("path_column", "set exactly one of params.path_column and params.bytes_column")
	case pathName != "" && s.root == "":
		return nil, pipeline.AtParam("root", fmt.Errorf("%w: params.path_column needs params.root", pipeline.ErrMissingParam))
	case bytesName != "" && s.root != "":
		return nil, pipeline.ParamErrorf("root", "only for path_column")
	}
	var err error
	for _, c := range []struct {
		key string
		dst *int
		ids []arrow.Type
	}{
		{"path_column", &s.pathCol, []arrow.Type{arrow.STRING, arrow.LARGE_STRING}},
		{"bytes_column", &s.bytesCol, []arrow.Type{arrow.BINARY, arrow.LARGE_BINARY}},
		{"key_column", &s.keyCol, nil},
		{"rows_column", &s.rowsCol, intTypes},
		{"columns_column", &s.colsCol, intTypes},
	} {
		if *c.dst, err = optColumn(in, p.String(c.key), c.ids...); err != nil {
			return nil, pipeline.AtParam(c.key, err)
		}
	}
	fit, err := imaging.ParseFit(p.String("fit"))
	if err != nil {
		return nil, pipeline.ParamErrorf("fit", "%v", err)
	}
	elem := arrow.DataType(arrow.PrimitiveTypes.Uint8)
	if p.String("dtype") == "float32" {
		elem, s.float = arrow.PrimitiveTypes.Float32, true
	}
	if p.Float("std") == 0 {
		return nil, pipeline.ParamErrorf("std", "must not be 0")
	}
	s.dec, err = imaging.NewDecoder(imaging.Options{Size: s.size, Fit: fit, MaxPixels: int64(p.Int("max_pixels")),
		Mean: float32(p.Float("mean")), Std: float32(p.Float("std"))})
	if err != nil {
		return nil, pipeline.ParamErrorf("size", "%v", err)
	}
	s.imgType = arrow.FixedSizeListOfNonNullable(int32(s.size*s.size), elem)
	if s.schema, err = schemas.AppendColumns(in,
		arrow.Field{Name: ImageColumn, Type: s.imgType},
		arrow.Field{Name: OrigWidthColumn, Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: OrigHeightColumn, Type: arrow.PrimitiveTypes.Int32},
	); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Decode) Schema() *arrow.Schema { return s.schema }

// InputFingerprint identifies the image files under root (keys, sizes,
// ETags) in path mode, so that changed images change the stage
// fingerprint; in bytes mode the images come from the input.
func (s *Decode) InputFingerprint(ctx context.Context) (string, error) {
	if s.pathCol < 0 {
		return "", nil
	}
	store, err := s.store.Get(ctx)
	if err != nil {
		return "", err
	}
	var fp string
	s.snap, fp, err = objstore.TakeSnapshot(ctx, store, "", func(key string) bool { return !strings.HasSuffix(key, ".txt") })
	return fp, err
}

// strs and blobs abstract the (large_)string and (large_)binary columns.
type strs interface {
	arrow.Array
	Value(int) string
}

type blobs interface {
	arrow.Array
	Value(int) []byte
}

func (s *Decode) Process(ctx context.Context, in arrow.RecordBatch, out pipeline.Emitter) error {
	var store objstore.Store
	if s.pathCol >= 0 {
		var err error
		if store, err = s.store.Get(ctx); err != nil {
			return err
		}
	}
	n := int(in.NumRows())
	for lo := 0; lo < n; lo += s.batch {
		hi := min(n, lo+s.batch)
		chunk := in
		if lo > 0 || hi < n {
			chunk = in.NewSlice(int64(lo), int64(hi))
		}
		err := s.chunk(ctx, store, chunk, out)
		if chunk != in {
			chunk.Release()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fault is a per-record failure: the row goes to the quarantine.
type fault struct{ reason string }

func (f *fault) Error() string { return f.reason }

// chunk decodes the rows of in (at most batch_rows) in parallel, at most
// Workers decodes in flight across the stage, and emits the rows that
// decoded.
func (s *Decode) chunk(ctx context.Context, store objstore.Store, in arrow.RecordBatch, out pipeline.Emitter) error {
	n := int(in.NumRows())
	per := s.size * s.size
	elemSize := 1
	if s.float {
		elemSize = 4
	}
	buf := memory.NewResizableBuffer(s.alloc)
	defer buf.Release()
	buf.Resize(n * per * elemSize)
	pix := buf.Bytes()
	var f32 []float32
	if s.float {
		f32 = arrow.Float32Traits.CastFromBytes(pix)
	}
	widths, heights := make([]int32, n), make([]int32, n)
	faults := make([]*fault, n)

	p := pool.New().WithErrors().WithContext(ctx).WithCancelOnError().WithFirstError().WithMaxGoroutines(cap(s.sem))
	for i := range n {
		p.Go(func(ctx context.Context) error {
			select {
			case s.sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			defer func() { <-s.sem }()
			var info imaging.Info
			src, err := s.source(ctx, store, in, i)
			if err == nil {
				if s.float {
					info, err = s.dec.Float32(src, f32[i*per:(i+1)*per])
				} else {
					info, err = s.dec.Uint8(src, pix[i*per:(i+1)*per])
				}
				if err == nil {
					err = s.checkDims(in, i, info)
				}
			}
			var f *fault
			switch {
			case err == nil:
				widths[i], heights[i] = int32(info.Width), int32(info.Height)
			case errors.As(err, &f):
				faults[i] = f
			case isRecordFault(err) && ctx.Err() == nil:
				faults[i] = &fault{err.Error()}
			default:
				return err // infrastructure: stop the run
			}
			return nil
		})
	}
	if err := p.Wait(); err != nil {
		return err
	}

	keep := n
	for i, f := range faults {
		if f != nil {
			keep--
			s.quarantined.Add(1)
			if err := s.q.Add(ctx, s.key(store, in, i), f.reason); err != nil {
				return err
			}
		}
	}
	s.rows.Add(int64(n))
	s.decoded.Add(int64(keep))
	if keep == 0 {
		return nil
	}

	values := array.NewData(s.imgType.Elem(), n*per, []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer values.Release()
	imgData := array.NewData(s.imgType, n, []*memory.Buffer{nil}, []arrow.ArrayData{values}, 0, 0)
	defer imgData.Release()
	img := array.MakeFromData(imgData)
	wb, hb := array.NewInt32Builder(s.alloc), array.NewInt32Builder(s.alloc)
	defer wb.Release()
	defer hb.Release()
	wb.AppendValues(widths, nil)
	hb.AppendValues(heights, nil)
	added := []arrow.Array{img, wb.NewArray(), hb.NewArray()}
	cols := append(in.Columns()[:in.NumCols():in.NumCols()], added...)
	rec := array.NewRecordBatch(s.schema, cols, int64(n))
	for _, c := range added {
		c.Release()
	}
	if keep < n {
		mb := array.NewBooleanBuilder(s.alloc)
		for _, f := range faults {
			mb.Append(f == nil)
		}
		mask := mb.NewBooleanArray()
		mb.Release()
		filtered, err := compute.FilterRecordBatch(compute.WithAllocator(ctx, s.alloc), rec, mask, compute.DefaultFilterOptions())
		mask.Release()
		rec.Release()
		if err != nil {
			return err
		}
		rec = filtered
	}
	return out.Emit(ctx, rec)
}

// source returns the encoded bytes of row i: a *fault for a missing or
// null file, another error for a store failure.
func (s *Decode) source(ctx context.Context, store objstore.Store, in arrow.RecordBatch, i int) ([]byte, error) {
	if s.bytesCol >= 0 {
		col := in.Column(s.bytesCol).(blobs)
		if col.IsNull(i) {
			return nil, &fault{"null bytes"}
		}
		if b := col.Value(i); int64(len(b)) > s.maxBytes {
			return nil, &fault{fmt.Sprintf("file too large: %d bytes > max_bytes %d", len(b), s.maxBytes)}
		}
		return col.Value(i), nil
	}
	col := in.Column(s.pathCol).(strs)
	if col.IsNull(i) {
		return nil, &fault{"null path"}
	}
	key := col.Value(i)
	if err := objstore.ValidateKey(key); err != nil {
		return nil, &fault{"invalid key: " + err.Error()}
	}
	rc, err := store.Get(ctx, key, objstore.Range{Len: s.maxBytes + 1})
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, &fault{"missing file: " + err.Error()}
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, objstore.Errorf("read", store, key, err)
	}
	if int64(len(b)) > s.maxBytes {
		return nil, &fault{fmt.Sprintf("file too large: more than max_bytes %d", s.maxBytes)}
	}
	// An image rewritten since the listing the stage was fingerprinted
	// with fails the run (a Stat per image; none without a fingerprint).
	if err := s.snap.Check(ctx, store, key); err != nil {
		return nil, err
	}
	return b, nil
}

// isRecordFault reports whether err is the image's fault (any imaging
// error), not the infrastructure's.
func isRecordFault(err error) bool {
	for _, k := range []error{imaging.ErrEmpty, imaging.ErrUnknownFormat, imaging.ErrTooLarge, imaging.ErrTruncated,
		imaging.ErrCorrupt, imaging.ErrUnsupported} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// ErrDimensionMismatch prefixes the quarantine reason of an image whose
// size differs from its metadata.
var ErrDimensionMismatch = errors.New("dimension mismatch")

func (s *Decode) checkDims(in arrow.RecordBatch, i int, info imaging.Info) error {
	check := func(col int, what string, got int) error {
		if col < 0 {
			return nil
		}
		want, ok := intAt(in.Column(col), i)
		if !ok || want == int64(got) {
			return nil
		}
		return &fault{fmt.Sprintf("%v: decoded %dx%d (width x height), metadata %s %s = %d", ErrDimensionMismatch,
			info.Width, info.Height, what, in.Schema().Field(col).Name, want)}
	}
	if err := check(s.rowsCol, "height", info.Height); err != nil {
		return err
	}
	return check(s.colsCol, "width", info.Width)
}

// intAt returns element i of an integer column; false for null.
func intAt(a arrow.Array, i int) (int64, bool) {
	if a.IsNull(i) {
		return 0, false
	}
	switch x := a.(type) {
	case *array.Int8:
		return int64(x.Value(i)), true
	case *array.Int16:
		return int64(x.Value(i)), true
	case *array.Int32:
		return int64(x.Value(i)), true
	case *array.Int64:
		return x.Value(i), true
	case *array.Uint8:
		return int64(x.Value(i)), true
	case *array.Uint16:
		return int64(x.Value(i)), true
	case *array.Uint32:
		return int64(x.Value(i)), true
	case *array.Uint64:
		return int64(x.Value(i)), true
	}
	return 0, false
}

// key names row i in the quarantine: key_column's value, else the full
// path (store URI + key), else "<bytes_column>[i]".
func (s *Decode) key(store objstore.Store, in arrow.RecordBatch, i int) string {
	if s.keyCol >= 0 {
		return fmt.Sprint(in.Column(s.keyCol).GetOneForMarshal(i))
	}
	if s.pathCol >= 0 {
		col := in.Column(s.pathCol).(strs)
		if !col.IsNull(i) {
			return store.String() + "/" + col.Value(i)
		}
	}
	return in.Schema().Field(max(s.pathCol, s.bytesCol)).Name + "[" + strconv.Itoa(i) + "]"
}

// Flush reports the totals.
func (s *Decode) Flush(context.Context, pipeline.Emitter) error {
	s.log.Info("images decoded", "rows", s.rows.Load(), "decoded", s.decoded.Load(), "quarantined", s.quarantined.Load())
	return nil
}
