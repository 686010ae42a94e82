package tokenizer

import (
	"testing"

	"github.com/medflow/medflow/tokenizer/internal/corpus"
)

// BenchmarkEncode measures single-goroutine Llama-2 encoding; `make
// tokenizer-bench` compares the same documents with libsentencepiece. The
// nocache variants disable the word cache (every word is merged), which is
// the speed on text whose words never repeat.
func BenchmarkEncode(b *testing.B) {
	for _, bc := range []struct {
		name    string
		kind    corpus.Kind
		noCache bool
	}{
		{"reports", corpus.Reports, false},
		{"mixed", corpus.Mixed, false},
		{"reports-nocache", corpus.Reports, true},
		{"mixed-nocache", corpus.Mixed, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tok := llamaTokenizer(b)
			docs := corpus.Docs(42, 1000, bc.kind)
			size := 0
			for _, d := range docs {
				size += len(d)
			}
			tok = tok.WithOptions(Options{NoWordCache: bc.noCache})
			encode := tok.EncodeAppend
			var dst []int32
			for _, d := range docs { // warm up scratch buffers and dst
				dst = encode(dst[:0], d)
			}
			tokens := 0
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, d := range docs {
					dst = encode(dst[:0], d)
					tokens += len(dst)
				}
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
