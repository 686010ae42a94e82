package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortFloats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, tc := range []struct {
		name string
		gen  func() float64
	}{
		{"probabilities", rng.Float64},
		{"signed with infinities and zeros", func() float64 {
			switch rng.IntN(20) {
			case 0:
				return math.Inf(1)
			case 1:
				return math.Inf(-1)
			case 2:
				return math.Copysign(0, -1)
			case 3:
				return 0
			}
			return rng.NormFloat64() * 1e3
		}},
		{"few distinct values", func() float64 { return float64(rng.IntN(5)) / 4 }},
		{"all equal", func() float64 { return 0.5 }},
	} {
		for _, n := range []int{0, 1, 100, radixMin, 50_000} {
			v := make([]float64, n)
			for i := range v {
				v[i] = tc.gen()
			}
			want := slices.Clone(v)
			slices.Sort(want)
			sortFloats(v)
			for i := range v {
				if v[i] != want[i] || math.Signbit(v[i]) != math.Signbit(want[i]) && v[i] != 0 {
					t.Fatalf("%s, n=%d: element %d is %v, want %v", tc.name, n, i, v[i], want[i])
				}
			}
			if !slices.IsSorted(v) {
				t.Fatalf("%s, n=%d: not sorted", tc.name, n)
			}
		}
	}
}
