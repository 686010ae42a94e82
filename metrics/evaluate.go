package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Table is a multi-label evaluation set: n studies by L labels, row-major
// (study i, label l at i*L+l).
type Table struct {
	Labels []string
	// Probs are the predicted probabilities.
	Probs []float64
	// Truth holds 0 or 1.
	Truth []uint8
	// Mask is 1 where the label is known and used, 0 where it is ignored;
	// nil means every label is known.
	Mask []uint8
}

// Studies returns the number of studies (rows).
func (t Table) Studies() int {
	if len(t.Labels) == 0 {
		return 0
	}
	return len(t.Probs) / len(t.Labels)
}

func (t Table) known(i int) bool { return t.Mask == nil || t.Mask[i] != 0 }

func (t Table) validate() error {
	l := len(t.Labels)
	if l == 0 {
		return fmt.Errorf("%w: table has no labels", ErrEmpty)
	}
	if len(t.Probs)%l != 0 || len(t.Truth) != len(t.Probs) || (t.Mask != nil && len(t.Mask) != len(t.Probs)) {
		return fmt.Errorf("%w: %d labels, %d probs, %d truth, %d mask values", ErrLength, l, len(t.Probs), len(t.Truth), len(t.Mask))
	}
	for i, p := range t.Probs {
		if !t.known(i) {
			continue
		}
		if math.IsNaN(p) {
			return fmt.Errorf("%w: study %d label %q", ErrNaN, i/l, t.Labels[i%l])
		}
		if t.Truth[i] > 1 {
			return fmt.Errorf("%w: study %d label %q: %d", ErrTruth, i/l, t.Labels[i%l], t.Truth[i])
		}
	}
	return nil
}

// Options tunes Evaluate.
type Options struct {
	// Threshold: a probability strictly above it counts as positive.
	Threshold float64
	// Bootstrap is the number of resamples for the intervals (0: none).
	Bootstrap int
	// Seed seeds the resampling; resample r uses the PCG stream (Seed, r).
	Seed uint64
	// Confidence of the intervals, in (0, 1); 0 means 0.95.
	Confidence float64
	// Workers computing resamples in parallel; 0 means GOMAXPROCS.
	Workers int
}

// Status says whether a label's ranking metrics are defined.
type Status string

const (
	OK          Status = "ok"
	NoPositives Status = "no positives"
	NoNegatives Status = "no negatives"
	NoStudies   Status = "no studies" // every study has the label masked
)

// LabelResult holds one label's metrics over the studies where it is
// known.
type LabelResult struct {
	Label      string
	Studies    int64 // studies where the label is known
	Positives  int64
	Prevalence float64 // Positives / Studies
	Status     Status
	// AUC is NaN unless Status is OK; AP is NaN when there are no positives.
	AUC, AP   float64
	Confusion Confusion // at Options.Threshold
	// Ranking is nil for NoStudies.
	Ranking *Ranking
}

// Interval is a bootstrap percentile interval; both NaN without resamples.
type Interval struct{ Low, High float64 }

// Summary holds the whole-table numbers.
type Summary struct {
	Studies int
	// Scored counts the studies with at least one known label; only they
	// take part in the exact-match accuracies.
	Scored       int
	LabelsInMean int
	// MeanAUC is the mean over the labels with Status OK (NaN if none).
	MeanAUC   float64
	MeanAUCCI Interval
	// ExactMatch is the fraction of scored studies whose every known label
	// is predicted correctly at the threshold.
	ExactMatch   float64
	ExactMatchCI Interval
	// AllNegative is the exact match of a predictor that calls every
	// label negative.
	AllNegative   float64
	AllNegativeCI Interval
	// PrevalenceOnly is the exact match of a predictor that gives each
	// label its prevalence on this table, so it calls a label positive
	// for every study exactly when its prevalence is above the threshold.
	PrevalenceOnly   float64
	PrevalenceOnlyCI Interval
	// MeanAUCPrevalence is the prevalence predictor's mean AUC: 0.5 by the
	// ties rule (a constant score ties every pair), NaN if no label is in
	// the mean.
	MeanAUCPrevalence float64
	Threshold         float64
	Confidence        float64
	Bootstrap         int
	// BootstrapUsed counts the resamples in which at least one label had
	// both classes (the mean AUC interval uses only those).
	BootstrapUsed int
	Seed          uint64
}

// Result is what Evaluate returns.
type Result struct {
	Labels  []LabelResult
	Summary Summary
}

// Evaluate computes every label's metrics and the summary of t.
func Evaluate(t Table, o Options) (*Result, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	if o.Confidence == 0 {
		o.Confidence = 0.95
	}
	if o.Confidence <= 0 || o.Confidence >= 1 || o.Bootstrap < 0 || math.IsNaN(o.Threshold) {
		return nil, fmt.Errorf("%w: confidence %v, bootstrap %d, threshold %v", ErrOptions, o.Confidence, o.Bootstrap, o.Threshold)
	}
	n, L := t.Studies(), len(t.Labels)
	res := &Result{Labels: make([]LabelResult, L)}
	parallel(L, o.Workers, func(_, l int) { res.Labels[l] = evalLabel(t, l, t.Labels[l], o.Threshold) })

	// Per-study correctness of the model and of the two baselines.
	prevPred := make([]bool, L)
	for l, lr := range res.Labels {
		prevPred[l] = lr.Prevalence > o.Threshold
	}
	flags := make([]uint8, n) // bit 0 scored, 1 model, 2 all-negative, 3 prevalence
	for i := range n {
		f := uint8(0b1110)
		scored := false
		for l := range L {
			k := i*L + l
			if !t.known(k) {
				continue
			}
			scored = true
			truth := t.Truth[k] == 1
			if (t.Probs[k] > o.Threshold) != truth {
				f &^= 1 << 1
			}
			if truth {
				f &^= 1 << 2
			}
			if prevPred[l] != truth {
				f &^= 1 << 3
			}
		}
		if scored {
			flags[i] = f | 1
		}
	}
	s := Summary{Studies: n, Threshold: o.Threshold, Confidence: o.Confidence, Bootstrap: o.Bootstrap, Seed: o.Seed,
		MeanAUC: math.NaN(), MeanAUCPrevalence: math.NaN()}
	var sum float64
	for _, lr := range res.Labels {
		if lr.Status == OK {
			sum += lr.AUC
			s.LabelsInMean++
		}
	}
	if s.LabelsInMean > 0 {
		s.MeanAUC = sum / float64(s.LabelsInMean)
		s.MeanAUCPrevalence = 0.5
	}
	var cnt [4]int
	for _, f := range flags {
		for b := range 4 {
			cnt[b] += int(f >> b & 1)
		}
	}
	s.Scored = cnt[0]
	s.ExactMatch = ratio(int64(cnt[1]), int64(cnt[0]))
	s.AllNegative = ratio(int64(cnt[2]), int64(cnt[0]))
	s.PrevalenceOnly = ratio(int64(cnt[3]), int64(cnt[0]))
	nan := Interval{math.NaN(), math.NaN()}
	s.MeanAUCCI, s.ExactMatchCI, s.AllNegativeCI, s.PrevalenceOnlyCI = nan, nan, nan, nan
	if o.Bootstrap > 0 && n > 0 {
		b := bootstrap(t, res.Labels, flags, o)
		s.BootstrapUsed = len(b.auc)
		s.MeanAUCCI = percentile(b.auc, o.Confidence)
		s.ExactMatchCI = percentile(b.exact[0], o.Confidence)
		s.AllNegativeCI = percentile(b.exact[1], o.Confidence)
		s.PrevalenceOnlyCI = percentile(b.exact[2], o.Confidence)
	}
	res.Summary = s
	return res, nil
}

func evalLabel(t Table, l int, name string, thr float64) LabelResult {
	L := len(t.Labels)
	pos, neg := make([]float64, 0, t.Studies()), make([]float64, 0, t.Studies())
	lr := LabelResult{Label: name, AUC: math.NaN(), AP: math.NaN(), Prevalence: math.NaN()}
	for k := l; k < len(t.Probs); k += L {
		if !t.known(k) {
			continue
		}
		p, truth := t.Probs[k], t.Truth[k] == 1
		lr.Confusion.add(p > thr, truth)
		if truth {
			pos = append(pos, p)
		} else {
			neg = append(neg, p)
		}
	}
	lr.Studies, lr.Positives = int64(len(pos)+len(neg)), int64(len(pos))
	switch {
	case lr.Studies == 0:
		lr.Status = NoStudies
		return lr
	case len(pos) == 0:
		lr.Status = NoPositives
	case len(neg) == 0:
		lr.Status = NoNegatives
	default:
		lr.Status = OK
	}
	lr.Prevalence = float64(lr.Positives) / float64(lr.Studies)
	lr.Ranking = rankSplit(pos, neg)
	if lr.Status == OK {
		lr.AUC, _ = lr.Ranking.AUC()
	}
	if lr.Positives > 0 {
		lr.AP, _ = lr.Ranking.AveragePrecision()
	}
	return lr
}

// sortedLabel is one label's known studies in score order, cut into groups
// of equal scores, for the weighted AUC of a resample.
type sortedLabel struct {
	study []int32 // study index, by ascending score
	pos   []bool
	end   []int32 // end (exclusive) of each tie group in study
}

func sortLabel(t Table, l int) sortedLabel {
	L := len(t.Labels)
	var idx []int32
	for i := range t.Studies() {
		if t.known(i*L + l) {
			idx = append(idx, int32(i))
		}
	}
	score := func(i int32) float64 { return t.Probs[int(i)*L+l] }
	slices.SortFunc(idx, func(a, b int32) int {
		switch sa, sb := score(a), score(b); {
		case sa < sb:
			return -1
		case sa > sb:
			return 1
		}
		return 0
	})
	s := sortedLabel{study: idx, pos: make([]bool, len(idx))}
	for k, i := range idx {
		s.pos[k] = t.Truth[int(i)*L+l] == 1
		if k > 0 && score(i) != score(idx[k-1]) {
			s.end = append(s.end, int32(k))
		}
	}
	if len(idx) > 0 {
		s.end = append(s.end, int32(len(idx)))
	}
	return s
}

// weightedAUC is the Mann-Whitney AUC where study i appears w[i] times;
// ok is false when a class is empty.
func (s *sortedLabel) weightedAUC(w []uint32) (float64, bool) {
	var twice, negBelow, P, N int64
	start := 0
	for _, e := range s.end {
		var p, n int64
		for k := start; k < int(e); k++ {
			c := int64(w[s.study[k]])
			if s.pos[k] {
				p += c
			} else {
				n += c
			}
		}
		twice += p * (2*negBelow + n)
		negBelow += n
		P += p
		N += n
		start = int(e)
	}
	if P == 0 || N == 0 {
		return 0, false
	}
	return float64(twice) / (2 * float64(P) * float64(N)), true
}

type bootResult struct {
	auc   []float64
	exact [3][]float64
}

// bootstrap resamples the studies o.Bootstrap times. Resample r draws n
// study indices uniformly with replacement from the PCG stream (Seed, r)
// and recomputes the mean AUC (over the labels with both classes in the
// resample) and the three exact-match accuracies.
func bootstrap(t Table, labels []LabelResult, flags []uint8, o Options) bootResult {
	n := t.Studies()
	sorted := make([]sortedLabel, len(labels))
	parallel(len(labels), o.Workers, func(_, l int) { sorted[l] = sortLabel(t, l) })
	sorted = slices.DeleteFunc(sorted, func(s sortedLabel) bool { return len(s.study) == 0 })
	B := o.Bootstrap
	auc := make([]float64, B)
	var exact [3][]float64
	for k := range exact {
		exact[k] = make([]float64, B)
	}
	bufs := make([][]uint32, workerCount(B, o.Workers)) // one weight vector per worker
	parallel(B, o.Workers, func(worker, r int) {
		if bufs[worker] == nil {
			bufs[worker] = make([]uint32, n)
		}
		w := bufs[worker]
		clear(w)
		rng := rand.New(rand.NewPCG(o.Seed, uint64(r)))
		for range n {
			w[rng.IntN(n)]++
		}
		var sum float64
		used := 0
		for i := range sorted {
			if a, ok := sorted[i].weightedAUC(w); ok {
				sum += a
				used++
			}
		}
		auc[r] = math.NaN()
		if used > 0 {
			auc[r] = sum / float64(used)
		}
		var scored, cnt [3]int64
		for i, f := range flags {
			if f&1 == 0 {
				continue
			}
			c := int64(w[i])
			for b := range 3 {
				scored[b] += c
				cnt[b] += c * int64(f>>(b+1)&1)
			}
		}
		for b := range 3 {
			exact[b][r] = ratio(cnt[b], scored[b])
		}
	})
	res := bootResult{auc: dropNaN(auc)}
	for b := range 3 {
		res.exact[b] = dropNaN(exact[b])
	}
	return res
}

// workerCount is the number of goroutines parallel uses.
func workerCount(n, workers int) int {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return max(1, min(workers, n))
}

// parallel calls f(worker, i) for every i in [0, n) on workerCount(n,
// workers) goroutines, worker in [0, workerCount), and returns when every
// call has.
func parallel(n, workers int, f func(worker, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workerCount(n, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(w, i)
			}
		}()
	}
	wg.Wait()
}

func dropNaN(v []float64) []float64 {
	return slices.DeleteFunc(v, math.IsNaN)
}

// percentile returns the central conf interval of v (sorted in place),
// interpolating linearly between order statistics (numpy's default).
func percentile(v []float64, conf float64) Interval {
	if len(v) == 0 {
		return Interval{math.NaN(), math.NaN()}
	}
	slices.Sort(v)
	a := (1 - conf) / 2
	return Interval{Quantile(v, a), Quantile(v, 1-a)}
}

// Quantile returns the q-quantile of sorted v with linear interpolation
// between order statistics (numpy.quantile's default "linear" method).
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 || q < 0 || q > 1 {
		return math.NaN()
	}
	h := float64(len(sorted)-1) * q
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[lo]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// IsUndefined reports whether err says a metric is undefined for the data
// (a class is missing or there are no samples) rather than that the input
// is broken.
func IsUndefined(err error) bool {
	return errors.Is(err, ErrNoPositives) || errors.Is(err, ErrNoNegatives) || errors.Is(err, ErrEmpty)
}
