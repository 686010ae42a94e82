package metrics

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors; every error of the package wraps one of them.
var (
	ErrLength      = errors.New("metrics: slices differ in length")
	ErrNaN         = errors.New("metrics: score is NaN")
	ErrEmpty       = errors.New("metrics: no samples")
	ErrNoPositives = errors.New("metrics: no positive samples")
	ErrNoNegatives = errors.New("metrics: no negative samples")
	ErrTruth       = errors.New("metrics: truth value is not 0 or 1")
	ErrOptions     = errors.New("metrics: invalid options")
)

// Ranking is one label's scores grouped by distinct value: Scores holds the
// distinct scores in ascending order and Pos/Neg how many positive and
// negative samples have each. Every ranking metric is a pass over it.
type Ranking struct {
	Scores   []float64
	Pos, Neg []int64
	// P and N are the total positive and negative counts.
	P, N int64
}

// Rank sorts scores (O(n log n)) and groups them by value. truth[i] says
// whether sample i is positive. A NaN score is an error naming its index.
func Rank(scores []float64, truth []bool) (*Ranking, error) {
	if len(scores) != len(truth) {
		return nil, fmt.Errorf("%w: %d scores, %d truth values", ErrLength, len(scores), len(truth))
	}
	var pos, neg []float64
	for i, s := range scores {
		if math.IsNaN(s) {
			return nil, fmt.Errorf("%w: sample %d", ErrNaN, i)
		}
		if truth[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	return rankSplit(pos, neg), nil
}

// rankSplit sorts the positive and negative scores (in place) and merges
// them into distinct-value groups.
func rankSplit(pos, neg []float64) *Ranking {
	sortFloats(pos)
	sortFloats(neg)
	n := len(pos) + len(neg)
	r := &Ranking{P: int64(len(pos)), N: int64(len(neg)),
		Scores: make([]float64, 0, n), Pos: make([]int64, 0, n), Neg: make([]int64, 0, n)}
	i, j := 0, 0
	for i < len(pos) || j < len(neg) {
		var v float64
		switch {
		case j == len(neg) || (i < len(pos) && pos[i] <= neg[j]):
			v = pos[i]
		default:
			v = neg[j]
		}
		var p, n int64
		for i < len(pos) && pos[i] == v {
			i++
			p++
		}
		for j < len(neg) && neg[j] == v {
			j++
			n++
		}
		r.Scores = append(r.Scores, v)
		r.Pos = append(r.Pos, p)
		r.Neg = append(r.Neg, n)
	}
	return r
}

func (r *Ranking) check(needNeg bool) error {
	switch {
	case r.P+r.N == 0:
		return ErrEmpty
	case r.P == 0:
		return ErrNoPositives
	case needNeg && r.N == 0:
		return ErrNoNegatives
	}
	return nil
}

// AUC is the area under the ROC curve: the probability that a random
// positive scores above a random negative, a tie counting one half (the
// Mann-Whitney U statistic divided by P*N). It is computed exactly in
// integers. It needs both classes.
func (r *Ranking) AUC() (float64, error) {
	if err := r.check(true); err != nil {
		return math.NaN(), err
	}
	var twice, negBelow int64 // 2*U avoids the half
	for g := range r.Scores {
		twice += r.Pos[g] * (2*negBelow + r.Neg[g])
		negBelow += r.Neg[g]
	}
	return float64(twice) / (2 * float64(r.P) * float64(r.N)), nil
}

// AveragePrecision is scikit-learn's average_precision_score: the sum over
// distinct thresholds, from the highest score down, of the recall gained
// times the precision at that threshold. It needs positives (with no
// negatives it is 1).
func (r *Ranking) AveragePrecision() (float64, error) {
	if err := r.check(false); err != nil {
		return math.NaN(), err
	}
	var ap float64
	var tp, fp int64
	for g := len(r.Scores) - 1; g >= 0; g-- {
		tp += r.Pos[g]
		fp += r.Neg[g]
		if r.Pos[g] > 0 {
			ap += float64(r.Pos[g]) / float64(r.P) * float64(tp) / float64(tp+fp)
		}
	}
	return ap, nil
}

// ROC returns the ROC curve: false and true positive rates when every
// sample scoring at least Thresholds[k] is called positive, from the
// highest threshold down, starting at (0, 0) with threshold +Inf. It needs
// both classes.
func (r *Ranking) ROC() (fpr, tpr, thresholds []float64, err error) {
	if err := r.check(true); err != nil {
		return nil, nil, nil, err
	}
	n := len(r.Scores) + 1
	fpr, tpr, thresholds = make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
	fpr, tpr, thresholds = append(fpr, 0), append(tpr, 0), append(thresholds, math.Inf(1))
	var tp, fp int64
	for g := len(r.Scores) - 1; g >= 0; g-- {
		tp += r.Pos[g]
		fp += r.Neg[g]
		fpr = append(fpr, float64(fp)/float64(r.N))
		tpr = append(tpr, float64(tp)/float64(r.P))
		thresholds = append(thresholds, r.Scores[g])
	}
	return fpr, tpr, thresholds, nil
}

// AUC ranks scores against truth and returns Ranking.AUC.
func AUC(scores []float64, truth []bool) (float64, error) {
	r, err := Rank(scores, truth)
	if err != nil {
		return math.NaN(), err
	}
	return r.AUC()
}

// AveragePrecision ranks scores against truth and returns
// Ranking.AveragePrecision.
func AveragePrecision(scores []float64, truth []bool) (float64, error) {
	r, err := Rank(scores, truth)
	if err != nil {
		return math.NaN(), err
	}
	return r.AveragePrecision()
}

// Confusion counts the outcomes of calling a sample positive when its
// score is strictly above a threshold.
type Confusion struct{ TP, FP, TN, FN int64 }

// Threshold returns the confusion counts of scores > t against truth.
func Threshold(scores []float64, truth []bool, t float64) (Confusion, error) {
	if len(scores) != len(truth) {
		return Confusion{}, fmt.Errorf("%w: %d scores, %d truth values", ErrLength, len(scores), len(truth))
	}
	var c Confusion
	for i, s := range scores {
		c.add(s > t, truth[i])
	}
	return c, nil
}

func (c *Confusion) add(pred, truth bool) {
	switch {
	case pred && truth:
		c.TP++
	case pred:
		c.FP++
	case truth:
		c.FN++
	default:
		c.TN++
	}
}

// Total is the number of samples counted.
func (c Confusion) Total() int64 { return c.TP + c.FP + c.TN + c.FN }

// Accuracy is (TP+TN)/total; NaN with no samples.
func (c Confusion) Accuracy() float64 { return ratio(c.TP+c.TN, c.Total()) }

// Precision is TP/(TP+FP); NaN when nothing was called positive.
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is TP/(TP+FN); NaN with no positives.
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 is 2TP/(2TP+FP+FN), the harmonic mean of precision and recall; NaN
// when there are no positives and none was predicted (undefined, where
// scikit-learn warns and returns 0).
func (c Confusion) F1() float64 { return ratio(2*c.TP, 2*c.TP+c.FP+c.FN) }

func ratio(a, b int64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}
