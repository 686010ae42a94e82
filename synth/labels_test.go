package synth

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/medflow/medflow/mimic"
)

func TestSamplerMatchesPrevalence(t *testing.T) {
	s := NewSampler(CheXpertPrevalence)
	rng := rand.New(rand.NewPCG(7, 7))
	const n = 50000
	var counts [NumLabels][4]float64
	var perStudy [8]float64
	for range n {
		v := s.Sample(rng)
		k := 0
		for i, x := range v {
			counts[i][x]++
			if x == Positive {
				k++
			}
		}
		perStudy[min(k, 5)]++
		if v[NoFinding] == Positive {
			for i, x := range v {
				if i != NoFinding && i != SupportDevices && (x == Positive || x == Uncertain) {
					t.Fatalf("No Finding with %s = %v", mimic.LabelNames[i], x)
				}
			}
		}
	}
	for i, p := range CheXpertPrevalence {
		for j, want := range p {
			got := counts[i][[]mimic.Label{Positive, Uncertain, Negative}[j]] / n
			if math.Abs(got-want) > 0.02+0.15*want {
				t.Errorf("%s: fraction %s = %.3f, want %.3f", mimic.LabelNames[i], []string{"positive", "uncertain", "negative"}[j], got, want)
			}
		}
	}
	for k, want := range positivesPerStudy {
		if got := perStudy[k] / n; math.Abs(got-want) > 0.05 {
			t.Errorf("%d positives per study: %.3f, want %.3f", k, got, want)
		}
	}
}

func TestSamplerDeterministic(t *testing.T) {
	s := NewSampler(CheXpertPrevalence)
	a := s.Sample(rand.New(rand.NewPCG(1, 1)))
	b := NewSampler(CheXpertPrevalence).Sample(rand.New(rand.NewPCG(1, 1)))
	if a != b {
		t.Fatalf("same seed, different labels: %v %v", a, b)
	}
}
