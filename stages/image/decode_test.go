package image_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/imaging"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	imgstage "github.com/medflow/medflow/stages/image"
	"github.com/medflow/medflow/stages/stagekit"
)

// record is one input row of the test source.
type record struct {
	key        string
	path       string // "" = null
	data       []byte // nil = null
	rows, cols int64  // 0 = null
}

var srcSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.String},
	{Name: "path", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "data", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "rows", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "cols", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
}, nil)

// source emits recs in batches of batchRows.
type source struct {
	recs      []record
	batchRows int
	alloc     memory.Allocator
}

func (s *source) Schema() *arrow.Schema { return srcSchema }

func (s *source) Produce(ctx context.Context, out pipeline.Emitter) error {
	for lo := 0; lo < len(s.recs); lo += s.batchRows {
		b := array.NewRecordBuilder(s.alloc, srcSchema)
		for _, r := range s.recs[lo:min(lo+s.batchRows, len(s.recs))] {
			b.Field(0).(*array.StringBuilder).Append(r.key)
			if r.path == "" {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.StringBuilder).Append(r.path)
			}
			if r.data == nil {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.BinaryBuilder).Append(r.data)
			}
			if r.rows == 0 {
				b.Field(3).AppendNull()
			} else {
				b.Field(3).(*array.Int64Builder).Append(r.rows)
			}
			if r.cols == 0 {
				b.Field(4).AppendNull()
			} else {
				b.Field(4).(*array.Int32Builder).Append(int32(r.cols))
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

func openLocal(ctx context.Context, uri string) (objstore.Store, error) {
	return connectors.Open(ctx, uri, connectors.Options{})
}

func registry(t testing.TB, recs []record, batchRows int) *pipeline.Registry {
	return registryWith(t, recs, batchRows, openLocal)
}

// registryWith holds image.decode (opening stores with open) and a
// test.images source emitting recs in batches of batchRows.
func registryWith(t testing.TB, recs []record, batchRows int,
	open func(context.Context, string) (objstore.Store, error)) *pipeline.Registry {
	r := pipeline.NewRegistry()
	if err := imgstage.Register(r, stagekit.Deps{Open: open}); err != nil {
		t.Fatal(err)
	}
	r.MustRegister(pipeline.Definition{Kind: "test.images", Doc: "test kind", Role: pipeline.RoleSource,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &source{recs: recs, batchRows: batchRows, alloc: b.Alloc}, nil
		}})
	return r
}

// xray draws a w×h test image with structure and noise.
func xray(w, h int, seed uint64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, 3))
	for y := range h {
		for x := range w {
			v := 128 + 80*math.Sin(float64(x)/37+float64(seed)) + 40*math.Cos(float64(y)/23) + rng.NormFloat64()*4
			img.Pix[y*img.Stride+x] = uint8(max(0, min(255, v)))
		}
	}
	return img
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withSize patches a JPEG's SOF0 frame size.
func withSize(src []byte, w, h int) []byte {
	b := bytes.Clone(src)
	i := bytes.Index(b, []byte{0xFF, 0xC0}) + 5
	b[i], b[i+1], b[i+2], b[i+3] = byte(h>>8), byte(h), byte(w>>8), byte(w)
	return b
}

// maxGoodBytes is more than any good fixture file and less than huge-file.
const maxGoodBytes = 1 << 20

// fixture is a mix of good and bad records. want holds, for each good
// record in input order, its key; bad maps a bad key to a reason substring.
type fixture struct {
	recs []record
	good []string
	bad  map[string]string
	src  map[string][]byte // key -> encoded bytes of good records
	huge record            // quarantined with max_bytes = maxGoodBytes
}

func makeFixture(t testing.TB, dir string) fixture {
	f := fixture{bad: map[string]string{}, src: map[string][]byte{}}
	add := func(key string, data []byte, rows, cols int64, reason string) {
		path := key + ".jpg"
		if data != nil {
			if err := os.WriteFile(filepath.Join(dir, path), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f.recs = append(f.recs, record{key: key, path: path, data: data, rows: rows, cols: cols})
		if reason == "" {
			f.good = append(f.good, key)
			f.src[key] = data
		} else {
			f.bad[key] = reason
		}
	}
	good := jpegBytes(t, xray(300, 360, 1))
	for i := range 6 {
		img := xray(250+17*i, 330-9*i, uint64(i+10))
		add(fmt.Sprintf("good%d", i), jpegBytes(t, img), int64(img.Rect.Dy()), int64(img.Rect.Dx()), "")
	}
	add("tall", jpegBytes(t, xray(64, 900, 5)), 900, 64, "")
	add("tiny", jpegBytes(t, xray(31, 17, 6)), 0, 0, "")
	add("png-named-jpg", pngBytes(t, xray(200, 150, 7)), 150, 200, "")
	add("zero-bytes", []byte{}, 0, 0, "empty file")
	add("text", []byte("this is not an image\n"), 0, 0, "unknown image format")
	for _, cut := range []int{2, 100, len(good) / 2, len(good) - 2} {
		add(fmt.Sprintf("truncated-%d", cut), good[:cut], 0, 0, "truncated image")
	}
	corrupt := bytes.Clone(good)
	rng := rand.New(rand.NewPCG(4, 4))
	for i := len(good) / 3; i < len(good)/2; i++ {
		corrupt[i] = byte(rng.IntN(256))
	}
	add("corrupt", corrupt, 0, 0, "corrupt image")
	add("bomb", withSize(good, 60000, 60000), 0, 0, "image too large")
	add("mismatch", good, 360, 301, "dimension mismatch")
	// A valid JPEG with 1 MiB of trailing bytes: good unless max_bytes is small.
	huge := append(bytes.Clone(good), make([]byte, maxGoodBytes)...)
	if err := os.WriteFile(filepath.Join(dir, "huge.jpg"), huge, 0o644); err != nil {
		t.Fatal(err)
	}
	f.huge = record{key: "huge", path: "huge.jpg", data: huge}
	f.recs = append(f.recs, record{key: "missing", path: "missing.jpg"})
	f.bad["missing"] = "missing file"
	f.recs = append(f.recs, record{key: "null-path"})
	f.bad["null-path"] = "null"
	add("good-last", good, 360, 300, "")
	return f
}

func TestDecodeStage(t *testing.T) {
	dir := t.TempDir()
	fx := makeFixture(t, dir)
	for _, tc := range []struct {
		name    string
		mode    string // path or bytes
		dtype   string
		fit     string
		size    int
		workers int
		batch   int // source batch rows
		params  map[string]any
	}{
		{"path-uint8-cover", "path", "uint8", "cover", 64, 1, 5, nil},
		{"path-float32-contain-2workers", "path", "float32", "contain", 48, 2, 4, map[string]any{"mean": 0.5, "std": 0.25}},
		{"bytes-uint8-cover-2workers", "bytes", "uint8", "cover", 32, 2, 100, map[string]any{"batch_rows": 3}},
		{"bytes-float32-cover", "bytes", "float32", "cover", 224, 1, 7, nil},
		{"path-max-bytes", "path", "uint8", "cover", 16, 2, 6, map[string]any{"max_bytes": maxGoodBytes}},
		{"bytes-max-bytes", "bytes", "uint8", "cover", 16, 1, 6, map[string]any{"max_bytes": maxGoodBytes}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, bad := slices.Clone(fx.recs), maps.Clone(fx.bad)
			if _, ok := tc.params["max_bytes"]; ok {
				recs = append(recs, fx.huge)
				bad["huge"] = "file too large"
			}
			params := map[string]any{"size": tc.size, "fit": tc.fit, "dtype": tc.dtype, "key_column": "key",
				"rows_column": "rows", "columns_column": "cols"}
			if tc.mode == "path" {
				params["path_column"], params["root"] = "path", dir
			} else {
				params["bytes_column"] = "data"
				for i := range recs {
					if recs[i].key == "missing" {
						recs[i].data = nil // a null blob stands in for a missing file
					}
				}
			}
			for k, v := range tc.params {
				params[k] = v
			}
			dec := pt.Stage("dec", "image.decode", []string{"src"}, params)
			dec.Workers = tc.workers
			res, err := pt.Run(t, registry(t, recs, tc.batch), pipeline.PlanOptions{},
				pt.Stage("src", "test.images", nil, nil), dec,
				pt.Stage("out", "test.collect", []string{"dec"}, nil))
			if err != nil {
				t.Fatal(err)
			}
			keys := res.Column("out", "key")
			if got := len(keys); got != len(fx.good) {
				t.Fatalf("%d rows out, want %d good ones", got, len(fx.good))
			}
			fit, _ := imaging.ParseFit(tc.fit)
			mean, std := 0.0, 1.0
			if v, ok := tc.params["mean"]; ok {
				mean, std = v.(float64), tc.params["std"].(float64)
			}
			d, _ := imaging.NewDecoder(imaging.Options{Size: tc.size, Fit: fit, Mean: float32(mean), Std: float32(std)})
			imgs, ws, hs := res.Column("out", "image"), res.Column("out", "orig_width"), res.Column("out", "orig_height")
			for i, k := range keys {
				if k != fx.good[i] {
					t.Fatalf("row %d is %v, want %s (order must be kept)", i, k, fx.good[i])
				}
				want := make([]float32, tc.size*tc.size)
				info, err := d.Float32(fx.src[fx.good[i]], want)
				if err != nil {
					t.Fatal(err)
				}
				if ws[i] != any(int32(info.Width)) || hs[i] != any(int32(info.Height)) {
					t.Fatalf("%s: orig %vx%v, want %dx%d", k, ws[i], hs[i], info.Width, info.Height)
				}
				got := imgs[i].([]any)
				if len(got) != len(want) {
					t.Fatalf("%s: image has %d values", k, len(got))
				}
				for j, v := range got {
					var g float64
					if _, err := fmt.Sscan(fmt.Sprint(v), &g); err != nil {
						t.Fatalf("value %v (%T): %v", v, v, err)
					}
					if tc.dtype == "uint8" {
						g = (g/255 - mean) / std
					}
					if math.Abs(g-float64(want[j])) > 1e-5 {
						t.Fatalf("%s: value %d = %g, want %g", k, j, g, want[j])
					}
				}
			}
			q := res.Run.Quarantined()
			if len(q) != len(bad) {
				t.Errorf("%d quarantined, want %d: %+v", len(q), len(bad), q)
			}
			for _, e := range q {
				want, ok := bad[e.Key]
				if e.Key == "missing" && tc.mode == "bytes" {
					want = "null bytes"
				}
				if !ok || !strings.Contains(e.Reason, want) {
					t.Errorf("quarantined %s: %q, want reason containing %q", e.Key, e.Reason, want)
				}
				if e.Stage != "dec" {
					t.Errorf("quarantine stage %q", e.Stage)
				}
			}
		})
	}
}

// The error budget stops the run; batches in flight are still released
// (the checked allocator fails the test on a leak).
func TestDecodeStageErrorBudget(t *testing.T) {
	dir := t.TempDir()
	fx := makeFixture(t, dir)
	dec := pt.Stage("dec", "image.decode", []string{"src"}, map[string]any{"path_column": "path", "root": dir, "size": 16})
	dec.Workers = 2
	_, err := pt.Run(t, registry(t, fx.recs, 3), pipeline.PlanOptions{MaxQuarantined: 2},
		pt.Stage("src", "test.images", nil, nil), dec, pt.Stage("out", "test.collect", []string{"dec"}, nil))
	if err == nil || !strings.Contains(err.Error(), pipeline.ErrErrorBudget.Error()) {
		t.Fatalf("err = %v, want the error budget", err)
	}
}

func TestDecodeStagePlanErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"neither", map[string]any{}, "exactly one"},
		{"both", map[string]any{"path_column": "path", "root": "/tmp", "bytes_column": "data"}, "exactly one"},
		{"no-root", map[string]any{"path_column": "path"}, "root"},
		{"path-not-string", map[string]any{"path_column": "rows", "root": "/tmp"}, "rows"},
		{"bytes-not-binary", map[string]any{"bytes_column": "key"}, "key"},
		{"bad-fit", map[string]any{"bytes_column": "data", "fit": "stretch"}, "fit"},
		{"bad-dtype", map[string]any{"bytes_column": "data", "dtype": "float16"}, "dtype"},
		{"bad-size", map[string]any{"bytes_column": "data", "size": 0}, "size"},
		{"zero-std", map[string]any{"bytes_column": "data", "std": 0}, "std"},
		{"rows-not-int", map[string]any{"bytes_column": "data", "rows_column": "key"}, "key"},
		{"missing-column", map[string]any{"bytes_column": "nope"}, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pt.Run(t, registry(t, nil, 1), pipeline.PlanOptions{},
				pt.Stage("src", "test.images", nil, nil), pt.Stage("dec", "image.decode", []string{"src"}, tc.params),
				pt.Stage("out", "test.collect", []string{"dec"}, nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestDecodeDetectsImageChangedDuringRun (issue 17, item 11): an image
// rewritten after the stage was fingerprinted fails the run naming it.
func TestDecodeDetectsImageChangedDuringRun(t *testing.T) {
	dir := t.TempDir()
	fx := makeFixture(t, dir)
	var recs []record
	for _, r := range fx.recs {
		if slices.Contains(fx.good, r.key) {
			recs = append(recs, r)
		}
	}
	changed := recs[2].path
	for _, change := range []bool{false, true} {
		between := func() {}
		if change { // another image under the same name
			between = func() {
				if err := os.WriteFile(filepath.Join(dir, changed), jpegBytes(t, xray(120, 140, 99)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		_, err := pt.RunAfterResolve(t, registry(t, recs, 2), between,
			pt.Stage("src", "test.images", nil, nil),
			pt.Stage("dec", "image.decode", []string{"src"}, map[string]any{"path_column": "path", "root": dir, "size": 16}),
			pt.Stage("out", "test.collect", []string{"dec"}, nil))
		switch {
		case !change && err != nil:
			t.Fatalf("unchanged images: %v", err)
		case change && (!errors.Is(err, objstore.ErrChanged) || !strings.Contains(err.Error(), changed)):
			t.Fatalf("rewritten image: err = %v, want ErrChanged naming %s", err, changed)
		}
	}
}
