package mimic_test

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/medflow/medflow/mimic"
	"github.com/medflow/medflow/mimic/mimictest"
)

// BenchmarkBuildFull joins full-scale tables (227,835 studies, 377,110
// images, every view kept) held in memory, and reports the heap the
// finished Index retains (index-MiB: live heap after GC with the index
// alive, minus the live heap before Build). The peak during Build is
// measured as process RSS by stages/mimic TestIndexPeakRSS.
func BenchmarkBuildFull(b *testing.B) {
	for _, gz := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(b *testing.B) {
			tree, err := mimictest.Generate(mimictest.Config{Studies: mimictest.FullStudies, Images: mimictest.FullImages, Seed: 1, Gzip: gz})
			if err != nil {
				b.Fatal(err)
			}
			tb := func() mimic.Tables {
				get := func(name string) mimic.Input {
					if gz {
						name += ".gz"
					}
					return mimic.Input{Name: name, R: bytes.NewReader(tree[name])}
				}
				return mimic.Tables{Metadata: get(mimictest.MetadataFile), Split: get(mimictest.SplitFile), Labels: get(mimictest.ChexpertFile)}
			}
			b.ResetTimer()
			var retained float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				ix, err := mimic.Build(tb(), mimic.Options{Views: []string{"all"}})
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				retained = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
				if ix.Len() != mimictest.FullImages {
					b.Fatalf("%d images", ix.Len())
				}
				runtime.KeepAlive(ix)
			}
			b.ReportMetric(retained, "index-MiB")
		})
	}
}
