package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func bools(v ...int) []bool {
	out := make([]bool, len(v))
	for i, x := range v {
		out[i] = x == 1
	}
	return out
}

// hanleyMcNeil expands Table I of Hanley & McNeil (1982), "The meaning and
// use of the area under a ROC curve": CT ratings 1 (definitely normal) to
// 5 (definitely abnormal) of 58 normal and 51 abnormal patients; the paper
// gives the area as 0.893.
func hanleyMcNeil() ([]float64, []bool) {
	normal := []int{33, 6, 6, 11, 2}
	abnormal := []int{3, 2, 2, 11, 33}
	var s []float64
	var y []bool
	for r := range 5 {
		for range normal[r] {
			s, y = append(s, float64(r+1)), append(y, false)
		}
		for range abnormal[r] {
			s, y = append(s, float64(r+1)), append(y, true)
		}
	}
	return s, y
}

func TestAUCReference(t *testing.T) {
	hmS, hmY := hanleyMcNeil()
	for _, tc := range []struct {
		name   string
		scores []float64
		truth  []bool
		want   float64
		tol    float64
	}{
		{"sklearn roc_auc_score docs", []float64{0.1, 0.4, 0.35, 0.8}, bools(0, 0, 1, 1), 0.75, 1e-12},
		{"Hanley-McNeil 1982 rating data", hmS, hmY, 0.893, 5e-4},
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, bools(0, 0, 1, 1), 1, 0},
		{"inverted", []float64{0.9, 0.8, 0.2, 0.1}, bools(0, 0, 1, 1), 0, 0},
		{"all tied: every pair counts half", []float64{0.3, 0.3, 0.3, 0.3, 0.3}, bools(0, 1, 0, 1, 1), 0.5, 0},
		// pairs (pos, neg): (0.5,0.5) tie 0.5, (0.5,0.2) 1, (0.7,0.5) 1, (0.7,0.2) 1 -> 3.5/4
		{"one tie", []float64{0.5, 0.5, 0.2, 0.7}, bools(1, 0, 0, 1), 3.5 / 4, 1e-15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AUC(tc.scores, tc.truth)
			if err != nil || !near(got, tc.want, tc.tol) {
				t.Fatalf("AUC = %v, %v; want %v ± %v", got, err, tc.want, tc.tol)
			}
		})
	}
}

func TestAveragePrecisionReference(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scores []float64
		truth  []bool
		want   float64
	}{
		// sklearn average_precision_score docs: 0.83...
		// by hand: thresholds 0.8 (P=1, R=.5), 0.4 (P=.5), 0.35 (P=2/3, R=1): .5*1 + .5*2/3
		{"sklearn docs", []float64{0.1, 0.4, 0.35, 0.8}, bools(0, 0, 1, 1), 0.5 + 0.5*2.0/3},
		{"all tied: precision is the prevalence", []float64{0.5, 0.5, 0.5}, bools(0, 1, 1), 2.0 / 3},
		{"no negatives", []float64{0.2, 0.9}, bools(1, 1), 1},
		// 0.9 pos (P=1,R=1/2), 0.6 neg, 0.3 pos (P=2/3, R=1)
		{"interleaved", []float64{0.9, 0.6, 0.3}, bools(1, 0, 1), 0.5 + 0.5*2.0/3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AveragePrecision(tc.scores, tc.truth)
			if err != nil || !near(got, tc.want, 1e-12) {
				t.Fatalf("AP = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if got, _ := AveragePrecision([]float64{0.1, 0.4, 0.35, 0.8}, bools(0, 0, 1, 1)); math.Round(got*1e4)/1e4 != 0.8333 {
		t.Fatalf("sklearn docs value rounds to %v, want 0.8333", got)
	}
}

func TestROCReference(t *testing.T) {
	// sklearn roc_curve docs: y = [1 1 2 2] (pos_label 2), scores [.1 .4 .35 .8]
	fpr, tpr, thr, err := mustRank(t, []float64{0.1, 0.4, 0.35, 0.8}, bools(0, 0, 1, 1)).ROC()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []float64
	}{
		{"fpr", fpr, []float64{0, 0, 0.5, 0.5, 1}},
		{"tpr", tpr, []float64{0, 0.5, 0.5, 1, 1}},
		{"thresholds", thr, []float64{math.Inf(1), 0.8, 0.4, 0.35, 0.1}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func mustRank(t *testing.T, s []float64, y []bool) *Ranking {
	t.Helper()
	r, err := Rank(s, y)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestUndefinedAndBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scores []float64
		truth  []bool
		auc    error
		ap     error
	}{
		{"only positives", []float64{0.2, 0.4}, bools(1, 1), ErrNoNegatives, nil},
		{"only negatives", []float64{0.2, 0.4}, bools(0, 0), ErrNoPositives, ErrNoPositives},
		{"empty", nil, nil, ErrEmpty, ErrEmpty},
		{"NaN", []float64{0.2, math.NaN()}, bools(0, 1), ErrNaN, ErrNaN},
		{"length", []float64{0.2}, bools(0, 1), ErrLength, ErrLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := AUC(tc.scores, tc.truth); !errors.Is(err, tc.auc) {
				t.Errorf("AUC error %v, want %v", err, tc.auc)
			}
			if _, err := AveragePrecision(tc.scores, tc.truth); !errors.Is(err, tc.ap) || (tc.ap == nil) != (err == nil) {
				t.Errorf("AP error %v, want %v", err, tc.ap)
			}
		})
	}
	if !IsUndefined(ErrNoPositives) || IsUndefined(ErrNaN) {
		t.Error("IsUndefined misclassifies")
	}
}

// bruteAUC compares every positive with every negative.
func bruteAUC(s []float64, y []bool) float64 {
	var u, pairs float64
	for i := range s {
		for j := range s {
			if y[i] && !y[j] {
				pairs++
				switch {
				case s[i] > s[j]:
					u++
				case s[i] == s[j]:
					u += 0.5
				}
			}
		}
	}
	return u / pairs
}

// bruteAP walks the samples from the highest score down, one distinct
// threshold at a time.
func bruteAP(s []float64, y []bool) float64 {
	thr := slices.Clone(s)
	slices.Sort(thr)
	thr = slices.Compact(thr)
	var P float64
	for _, v := range y {
		if v {
			P++
		}
	}
	var ap, prevRecall float64
	for k := len(thr) - 1; k >= 0; k-- {
		var tp, called float64
		for i := range s {
			if s[i] >= thr[k] {
				called++
				if y[i] {
					tp++
				}
			}
		}
		ap += (tp/P - prevRecall) * tp / called
		prevRecall = tp / P
	}
	return ap
}

func TestAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 200 {
		n := 2 + rng.IntN(60)
		s, y := make([]float64, n), make([]bool, n)
		levels := 1 + rng.IntN(10) // few levels: many ties
		for i := range n {
			s[i] = float64(rng.IntN(levels)) / 10
			y[i] = rng.IntN(3) == 0
		}
		y[0], y[1] = true, false
		auc, err := AUC(s, y)
		if err != nil || !near(auc, bruteAUC(s, y), 1e-12) {
			t.Fatalf("trial %d: AUC %v (%v), brute force %v", trial, auc, err, bruteAUC(s, y))
		}
		ap, err := AveragePrecision(s, y)
		if err != nil || !near(ap, bruteAP(s, y), 1e-12) {
			t.Fatalf("trial %d: AP %v (%v), brute force %v", trial, ap, err, bruteAP(s, y))
		}
	}
}

func TestConfusion(t *testing.T) {
	// threshold 0.5, strict: 0.5 itself is negative
	c, err := Threshold([]float64{0.9, 0.5, 0.2, 0.7, 0.1}, bools(1, 1, 0, 0, 0), 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Confusion{TP: 1, FN: 1, FP: 1, TN: 2}); c != want {
		t.Fatalf("confusion %+v, want %+v", c, want)
	}
	for _, m := range []struct {
		name      string
		got, want float64
	}{
		{"accuracy", c.Accuracy(), 3.0 / 5},
		{"precision", c.Precision(), 1.0 / 2},
		{"recall", c.Recall(), 1.0 / 2},
		{"f1", c.F1(), 2.0 / 4},
		{"f1 undefined", Confusion{TN: 3}.F1(), math.NaN()},
		{"accuracy of nothing", Confusion{}.Accuracy(), math.NaN()},
	} {
		if !near(m.got, m.want, 1e-15) {
			t.Errorf("%s = %v, want %v", m.name, m.got, m.want)
		}
	}
}
