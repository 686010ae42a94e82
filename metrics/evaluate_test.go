package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// handTable: 5 studies x 4 labels; study 4 has every label masked. The
// expected numbers in TestEvaluateByHand are worked out in the comments.
func handTable() Table {
	return Table{
		Labels: []string{"A", "B", "C", "D"},
		Probs: []float64{
			0.9, 0.2, 0.6, 0.7,
			0.4, 0.7, 0.3, 0.8,
			0.6, 0.1, 0.8, 0.9,
			0.3, 0.6, 0.2, 0.4,
			0.0, 0.0, 0.0, 0.0,
		},
		Truth: []uint8{
			1, 0, 0, 1,
			0, 1, 0, 1,
			1, 0, 0, 1,
			0, 0, 0, 1,
			1, 1, 1, 1,
		},
		Mask: []uint8{
			1, 1, 0, 1,
			1, 1, 1, 1,
			1, 1, 1, 1,
			1, 0, 1, 1,
			0, 0, 0, 0,
		},
	}
}

func TestEvaluateByHand(t *testing.T) {
	r, err := Evaluate(handTable(), Options{Threshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	for i, want := range []struct {
		studies, pos int64
		status       Status
		auc, ap      float64
		acc, f1      float64
	}{
		// A: pos .9 .6, neg .4 .3: separated; all four right at 0.5
		{4, 2, OK, 1, 1, 1, 1},
		// B (study 3 masked): pos .7, neg .2 .1
		{3, 1, OK, 1, 1, 1, 1},
		// C (study 0 masked): no positives; .8 is a false positive
		{3, 0, NoPositives, nan, nan, 2.0 / 3, 0},
		// D: no negatives; AP 1; .4 is a false negative: F1 = 6/7
		{4, 4, NoNegatives, nan, 1, 3.0 / 4, 6.0 / 7},
	} {
		lr := r.Labels[i]
		if lr.Studies != want.studies || lr.Positives != want.pos || lr.Status != want.status ||
			!near(lr.AUC, want.auc, 1e-12) || !near(lr.AP, want.ap, 1e-12) ||
			!near(lr.Confusion.Accuracy(), want.acc, 1e-12) || !near(lr.Confusion.F1(), want.f1, 1e-12) {
			t.Errorf("label %s: got %+v acc %v f1 %v, want %+v", lr.Label, lr, lr.Confusion.Accuracy(), lr.Confusion.F1(), want)
		}
	}
	s := r.Summary
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"studies", float64(s.Studies), 5},
		{"scored (study 4 has no known label)", float64(s.Scored), 4},
		{"labels in mean (A, B)", float64(s.LabelsInMean), 2},
		{"mean AUC", s.MeanAUC, 1},
		// study 0 right; 1 right; 2 wrong (C .8); 3 wrong (D .4)
		{"exact match", s.ExactMatch, 2.0 / 4},
		// D is positive everywhere: an all-negative predictor gets nothing right
		{"all negative", s.AllNegative, 0},
		// prevalence: A .5 (not > .5), B 1/3, C 0 -> negative; D 1 -> positive; only study 3 right
		{"prevalence only", s.PrevalenceOnly, 1.0 / 4},
		{"prevalence mean AUC", s.MeanAUCPrevalence, 0.5},
		{"no bootstrap: no interval", s.MeanAUCCI.Low, nan},
	} {
		if !near(c.got, c.want, 1e-12) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	bad := handTable()
	bad.Probs[5] = math.NaN()
	masked := handTable()
	masked.Probs[2] = math.NaN() // study 0, label C is masked: ignored
	for _, tc := range []struct {
		name string
		t    Table
		o    Options
		want error
	}{
		{"NaN in a known label", bad, Options{Threshold: 0.5}, ErrNaN},
		{"NaN in a masked label is fine", masked, Options{Threshold: 0.5}, nil},
		{"no labels", Table{}, Options{}, ErrEmpty},
		{"ragged", Table{Labels: []string{"a", "b"}, Probs: []float64{1, 2, 3}, Truth: []uint8{1, 0, 1}}, Options{}, ErrLength},
		{"truth 2", Table{Labels: []string{"a"}, Probs: []float64{1}, Truth: []uint8{2}}, Options{}, ErrTruth},
		{"confidence", handTable(), Options{Confidence: 1.5}, ErrOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Evaluate(tc.t, tc.o)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	v := []float64{1, 2, 3, 4}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {1, 4}, {0.5, 2.5}, {0.25, 1.75}, {0.025, 1.075}} {
		if got := Quantile(v, c.q); !near(got, c.want, 1e-12) {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("Quantile of nothing should be NaN")
	}
}

// synthTable makes n studies x L labels with some signal, ties (scores
// rounded to 1/levels) and ~10% masked labels.
func synthTable(n, L, levels int, seed uint64) Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := Table{Labels: make([]string, L), Probs: make([]float64, n*L), Truth: make([]uint8, n*L), Mask: make([]uint8, n*L)}
	for l := range L {
		t.Labels[l] = string(rune('a' + l%26))
	}
	for i := range n * L {
		prev := 0.05 + 0.3*float64(i%L)/float64(L)
		y := rng.Float64() < prev
		z := rng.NormFloat64()
		if y {
			z += 1.2
		}
		p := 1 / (1 + math.Exp(-(z - 1.5)))
		if levels > 0 {
			p = math.Round(p*float64(levels)) / float64(levels)
		}
		t.Probs[i] = p
		if y {
			t.Truth[i] = 1
		}
		if rng.IntN(10) > 0 {
			t.Mask[i] = 1
		}
	}
	return t
}

// naiveBootstrap materializes each resample (the same draws Evaluate makes:
// resample r takes n uniform indices from the PCG stream (seed, r)) and
// evaluates it from scratch.
func naiveBootstrap(t *testing.T, tab Table, o Options) Summary {
	n, L := tab.Studies(), len(tab.Labels)
	var auc, em, neg, prev []float64
	full, err := Evaluate(tab, Options{Threshold: o.Threshold})
	if err != nil {
		t.Fatal(err)
	}
	for r := range o.Bootstrap {
		rng := rand.New(rand.NewPCG(o.Seed, uint64(r)))
		rs := Table{Labels: tab.Labels}
		for range n {
			i := rng.IntN(n)
			rs.Probs = append(rs.Probs, tab.Probs[i*L:(i+1)*L]...)
			rs.Truth = append(rs.Truth, tab.Truth[i*L:(i+1)*L]...)
			rs.Mask = append(rs.Mask, tab.Mask[i*L:(i+1)*L]...)
		}
		res, err := Evaluate(rs, Options{Threshold: o.Threshold})
		if err != nil {
			t.Fatal(err)
		}
		if res.Summary.LabelsInMean > 0 {
			auc = append(auc, res.Summary.MeanAUC)
		}
		em = append(em, res.Summary.ExactMatch)
		neg = append(neg, res.Summary.AllNegative)
		// the prevalence predictor is fixed on the full table, not refit per resample
		var scored, right float64
		for i := range n {
			known, ok := false, true
			for l := range L {
				k := i*L + l
				if rs.Mask[k] == 0 {
					continue
				}
				known = true
				if (full.Labels[l].Prevalence > o.Threshold) != (rs.Truth[k] == 1) {
					ok = false
				}
			}
			if known {
				scored++
				if ok {
					right++
				}
			}
		}
		prev = append(prev, right/scored)
	}
	return Summary{MeanAUCCI: percentile(auc, 0.95), ExactMatchCI: percentile(em, 0.95),
		AllNegativeCI: percentile(neg, 0.95), PrevalenceOnlyCI: percentile(prev, 0.95), BootstrapUsed: len(auc)}
}

func TestBootstrapMatchesNaiveResampling(t *testing.T) {
	for _, tc := range []struct {
		name         string
		n, L, levels int
	}{
		{"continuous", 60, 5, 0},
		{"heavy ties", 40, 4, 3},
		{"tiny: some resamples lose a class", 8, 3, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := synthTable(tc.n, tc.L, tc.levels, uint64(tc.n))
			o := Options{Threshold: 0.5, Bootstrap: 200, Seed: 42, Workers: 3}
			got, err := Evaluate(tab, o)
			if err != nil {
				t.Fatal(err)
			}
			want := naiveBootstrap(t, tab, o)
			g := got.Summary
			if g.BootstrapUsed != want.BootstrapUsed {
				t.Errorf("resamples used %d, naive %d", g.BootstrapUsed, want.BootstrapUsed)
			}
			for _, c := range []struct {
				name      string
				got, want Interval
			}{
				{"mean AUC", g.MeanAUCCI, want.MeanAUCCI}, {"exact match", g.ExactMatchCI, want.ExactMatchCI},
				{"all negative", g.AllNegativeCI, want.AllNegativeCI}, {"prevalence", g.PrevalenceOnlyCI, want.PrevalenceOnlyCI},
			} {
				if !near(c.got.Low, c.want.Low, 1e-12) || !near(c.got.High, c.want.High, 1e-12) {
					t.Errorf("%s interval %v, naive %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestBootstrapDeterminism(t *testing.T) {
	tab := synthTable(300, 6, 0, 3)
	run := func(seed uint64, workers int) Summary {
		r, err := Evaluate(tab, Options{Threshold: 0.5, Bootstrap: 300, Seed: seed, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return r.Summary
	}
	a, b, c := run(9, 1), run(9, 4), run(10, 2)
	if a.MeanAUCCI != b.MeanAUCCI || a.ExactMatchCI != b.ExactMatchCI {
		t.Errorf("worker count changed the intervals: %v %v vs %v %v", a.MeanAUCCI, a.ExactMatchCI, b.MeanAUCCI, b.ExactMatchCI)
	}
	if a.MeanAUCCI == c.MeanAUCCI {
		t.Errorf("another seed gave the same interval %v", a.MeanAUCCI)
	}
	for _, x := range []struct {
		name  string
		point float64
		ci    Interval
	}{{"mean AUC", a.MeanAUC, a.MeanAUCCI}, {"exact match", a.ExactMatch, a.ExactMatchCI}} {
		if !(x.ci.Low < x.point && x.point < x.ci.High) {
			t.Errorf("%s %v outside its interval %v", x.name, x.point, x.ci)
		}
	}
}

func TestWeightedAUCUnitWeights(t *testing.T) {
	tab := synthTable(200, 3, 5, 11)
	r, err := Evaluate(tab, Options{Threshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	ones := slices.Repeat([]uint32{1}, tab.Studies())
	for l := range tab.Labels {
		s := sortLabel(tab, l)
		got, ok := s.weightedAUC(ones)
		if !ok || !near(got, r.Labels[l].AUC, 1e-12) {
			t.Errorf("label %d: weighted AUC with unit weights %v, AUC %v", l, got, r.Labels[l].AUC)
		}
	}
}
