package metrics

import (
	"slices"
	"testing"
)

// BenchmarkEvaluate measures the evaluation of 1M studies x 14 labels
// (continuous scores, ~10% masked): per-label AUC/AP/F1 by sorting and the
// exact-match accuracies, without resampling. The reference "sort-only"
// sorts the same 14 columns of 1M float64 scores and nothing else: the
// floor of any sort-based AUC.
func BenchmarkEvaluate(b *testing.B) {
	tab := synthTable(1_000_000, 14, 0, 5)
	b.Run("evaluate-1M-x14", func(b *testing.B) {
		for b.Loop() {
			if _, err := Evaluate(tab, Options{Threshold: 0.5}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference-sort-only-1M-x14", func(b *testing.B) {
		col := make([]float64, tab.Studies())
		for b.Loop() {
			for l := range 14 {
				for i := range col {
					col[i] = tab.Probs[i*14+l]
				}
				slices.Sort(col)
			}
		}
	})
}

// BenchmarkBootstrap measures 1000 resamples of a MIMIC-CXR-sized test set
// (5,000 studies x 14 labels), the default evaluation.
func BenchmarkBootstrap(b *testing.B) {
	tab := synthTable(5_000, 14, 0, 6)
	for b.Loop() {
		if _, err := Evaluate(tab, Options{Threshold: 0.5, Bootstrap: 1000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
