package synth

import (
	"math"
	"math/rand/v2"

	"github.com/medflow/medflow/mimic"
)

// Label indices into mimic.LabelNames.
const (
	Atelectasis = iota
	Cardiomegaly
	Consolidation
	Edema
	EnlargedCardiomediastinum
	Fracture
	LungLesion
	LungOpacity
	NoFinding
	PleuralEffusion
	PleuralOther
	Pneumonia
	Pneumothorax
	SupportDevices
)

// cell renders a label as the label CSVs do.
func cell(l mimic.Label) string {
	if l == mimic.Blank {
		return ""
	}
	return l.String()
}

// Label values, as in the mimic package.
const (
	Blank     = mimic.Blank
	Positive  = mimic.Positive
	Negative  = mimic.Negative
	Uncertain = mimic.Uncertain
)

// NumLabels is the number of CheXpert labels; their names and order are
// mimic.LabelNames.
const NumLabels = mimic.NumLabels

// Prevalence is, per label, the fractions positive, uncertain and negative
// (the rest is blank).
type Prevalence [NumLabels][3]float64

// CheXpertPrevalence is measured on the 223,414 CheXpert training labels
// (same labeler family as MIMIC-CXR's).
var CheXpertPrevalence = Prevalence{
	Atelectasis:               {.149, .151, .006},
	Cardiomegaly:              {.121, .036, .050},
	Consolidation:             {.066, .124, .126},
	Edema:                     {.234, .058, .093},
	EnlargedCardiomediastinum: {.048, .056, .097},
	Fracture:                  {.040, .003, .011},
	LungLesion:                {.041, .007, .006},
	LungOpacity:               {.473, .025, .030},
	NoFinding:                 {.100, 0, 0},
	PleuralEffusion:           {.386, .052, .158},
	PleuralOther:              {.016, .012, .001},
	Pneumonia:                 {.027, .084, .013},
	Pneumothorax:              {.087, .014, .252},
	SupportDevices:            {.519, .005, .027},
}

// positivesPerStudy is the distribution of positive labels per study
// (0, 1, 2, 3, 4, 5+), CheXpert-measured.
var positivesPerStudy = []float64{.05, .24, .30, .24, .13, .04}

// parenchymal findings imply Lung Opacity most of the time.
var opacityChildren = []int{Atelectasis, Consolidation, Edema, LungLesion, Pneumonia}

// Sampler draws label vectors whose positive rates match a Prevalence and
// whose positive counts follow CheXpert's distribution. No Finding is
// exclusive of every finding but Support Devices, and parenchymal findings
// usually come with Lung Opacity, as the labeler reports them.
type Sampler struct {
	prev    Prevalence
	weights [NumLabels]float64
}

// NewSampler calibrates a sampler for prev (deterministically).
func NewSampler(prev Prevalence) *Sampler {
	s := &Sampler{prev: prev}
	for i := range s.weights {
		s.weights[i] = max(prev[i][0], 1e-4)
	}
	// Fixed-point calibration of the selection weights against the target
	// positive rates, on a fixed pseudo-random stream.
	const n = 20000
	for range 25 {
		rng := rand.New(rand.NewPCG(1, 2))
		var pos [NumLabels]float64
		for range n {
			for i, v := range s.positives(rng) {
				if v {
					pos[i]++
				}
			}
		}
		for i := range s.weights {
			got := pos[i] / n
			if got > 0 && prev[i][0] > 0 {
				s.weights[i] *= math.Pow(prev[i][0]/got, 0.7)
			}
		}
	}
	return s
}

func (s *Sampler) positives(rng *rand.Rand) [NumLabels]bool {
	var out [NumLabels]bool
	k := pick(rng, positivesPerStudy)
	if k == len(positivesPerStudy)-1 {
		k += rng.IntN(2) // 5+
	}
	w := s.weights
	for range k {
		total := 0.0
		for _, x := range w {
			total += x
		}
		if total <= 0 {
			break
		}
		r := rng.Float64() * total
		i := 0
		for ; i < NumLabels-1 && r >= w[i]; i++ {
			r -= w[i]
		}
		out[i] = true
		w[i] = 0
	}
	if out[NoFinding] {
		for i := range out {
			out[i] = out[i] && (i == NoFinding || i == SupportDevices)
		}
	}
	for _, c := range opacityChildren {
		if out[c] && rng.Float64() < 0.7 {
			out[LungOpacity] = true
		}
	}
	return out
}

// Sample draws one study's labels.
func (s *Sampler) Sample(rng *rand.Rand) [NumLabels]mimic.Label {
	pos := s.positives(rng)
	var out [NumLabels]mimic.Label
	for i := range out {
		if pos[i] {
			out[i] = Positive
			continue
		}
		p := s.prev[i]
		unc, neg := p[1], p[2]
		if pos[NoFinding] && i != SupportDevices {
			unc = 0 // a normal study hedges on nothing
		}
		rest := 1 - p[0]
		if rest <= 0 {
			continue
		}
		switch r := rng.Float64() * rest; {
		case r < unc:
			out[i] = Uncertain
		case r < unc+neg:
			out[i] = Negative
		}
	}
	return out
}

func pick(rng *rand.Rand, probs []float64) int {
	r := rng.Float64()
	for i, p := range probs {
		if r < p {
			return i
		}
		r -= p
	}
	return len(probs) - 1
}
