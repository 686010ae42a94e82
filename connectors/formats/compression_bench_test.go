package formats

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// pairsLike is a batch shaped like the demo's pairs: a 64x64 uint8 image
// with smooth content (an X-ray is mostly low-frequency), a float32
// embedding, 14 labels and ids.
func pairsLike(rows, side, dim int) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "dicom_id", Type: arrow.BinaryTypes.String},
		{Name: "image", Type: arrow.FixedSizeListOf(int32(side*side), arrow.PrimitiveTypes.Uint8)},
		{Name: "embedding", Type: arrow.FixedSizeListOf(int32(dim), arrow.PrimitiveTypes.Float32)},
		{Name: "labels", Type: arrow.FixedSizeListOf(14, arrow.PrimitiveTypes.Float32)},
	}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rows {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("%08x-%08x-%08x", r.Uint32(), r.Uint32(), i))
		img := b.Field(1).(*array.FixedSizeListBuilder)
		img.Append(true)
		px := img.ValueBuilder().(*array.Uint8Builder)
		for y := range side {
			for x := range side {
				v := 80 + 60*float64(x*y)/float64(side*side) + 8*r.NormFloat64()
				px.Append(uint8(max(0, min(255, v))))
			}
		}
		emb := b.Field(2).(*array.FixedSizeListBuilder)
		emb.Append(true)
		for range dim {
			emb.ValueBuilder().(*array.Float32Builder).Append(float32(r.NormFloat64() * 0.1))
		}
		lab := b.Field(3).(*array.FixedSizeListBuilder)
		lab.Append(true)
		for range 14 {
			lab.ValueBuilder().(*array.Float32Builder).Append(float32(r.IntN(2)))
		}
	}
	return b.NewRecordBatch()
}

// BenchmarkCacheCodec compares the IPC compressions a cached part can
// use: write + read time and the bytes stored (bytes/op is Go's; the
// part's size is reported as part_MiB).
func BenchmarkCacheCodec(b *testing.B) {
	for _, shape := range []struct {
		name            string
		rows, side, dim int
	}{{"demo-64px", 256, 64, 64}, {"flagship-224px", 32, 224, 4096}} {
		rec := pairsLike(shape.rows, shape.side, shape.dim)
		benchCodecs(b, shape.name+"/", rec)
		rec.Release()
	}
}

// BenchmarkCacheCodecFile is BenchmarkCacheCodec on a real cached part:
// MEDFLOW_BENCH_PART names an Arrow IPC file (e.g. a part of the demo's
// pairs under data/work/cache/<fingerprint>/).
func BenchmarkCacheCodecFile(b *testing.B) {
	path := os.Getenv("MEDFLOW_BENCH_PART")
	if path == "" {
		b.Skip("MEDFLOW_BENCH_PART not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	rec, err := DecodeIPC(data, memory.NewGoAllocator())
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Release()
	benchCodecs(b, "", rec)
}

// benchCodecs runs one sub-benchmark per compression (named prefix +
// compression): encode rec as an IPC part and decode it again.
func benchCodecs(b *testing.B, prefix string, rec arrow.RecordBatch) {
	for _, c := range []Compression{None, LZ4, Zstd} {
		b.Run(prefix+string(c), func(b *testing.B) {
			mem := memory.NewGoAllocator()
			var size int
			for b.Loop() {
				data, err := Encode(rec, IPC, mem, c)
				if err != nil {
					b.Fatal(err)
				}
				out, err := DecodeIPC(data, mem)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
				size = len(data)
			}
			b.ReportMetric(float64(size)/(1<<20), "part_MiB")
			b.SetBytes(int64(size))
		})
	}
}
