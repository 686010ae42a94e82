package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrErrorBudget is returned by Quarantine.Add once the run has quarantined
// more records than PlanOptions.MaxQuarantined allows.
var ErrErrorBudget = errors.New("error budget exceeded")

// QuarantineEntry is one record a stage set aside.
type QuarantineEntry struct {
	Stage  string
	Key    string
	Reason string
}

type quarantineLog struct {
	mu      sync.Mutex
	max     int
	entries []QuarantineEntry
}

type stageQuarantine struct {
	log   *quarantineLog
	stage string
}

func (q *quarantineLog) forStage(stage string) Quarantine { return stageQuarantine{q, stage} }

func (s stageQuarantine) Add(key, reason string) error {
	// key and reason often come from an Arrow array (keys.Value(i)) whose
	// buffer goes back to a pooling allocator once the batch is released:
	// the entry outlives the batch, so it keeps copies.
	key, reason = strings.Clone(key), strings.Clone(reason)
	q := s.log
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries = append(q.entries, QuarantineEntry{Stage: s.stage, Key: key, Reason: reason})
	if n := len(q.entries); q.max != 0 && n > max(q.max, 0) {
		return fmt.Errorf("%w: %d records quarantined, budget %d; last: %s: %s", ErrErrorBudget, n, max(q.max, 0), key, reason)
	}
	return nil
}

func (q *quarantineLog) snapshot() []QuarantineEntry {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]QuarantineEntry(nil), q.entries...)
}

// checkErrorRate returns an ErrErrorBudget error when a stage quarantined
// more than PlanOptions.MaxErrorRate of the records it handled so far.
func (r *Run) checkErrorRate() error {
	limit := r.plan.opts.MaxErrorRate
	if limit <= 0 {
		return nil
	}
	counts := map[string]int64{}
	for _, e := range r.plan.quar.snapshot() {
		counts[e.Stage]++
	}
	for i, n := range r.plan.Nodes {
		q := counts[n.Spec.Name]
		if q == 0 {
			continue
		}
		handled := r.stats[i].rowsIn.Load()
		if n.Def.Role == RoleSource {
			handled = r.stats[i].rowsOut.Load() + q // a source drops what it quarantines
		}
		if rate := float64(q) / float64(max(handled, 1)); rate > limit {
			return &StageError{Stage: n.Spec.Name, Record: -1, Err: fmt.Errorf("%w: %d of %d records quarantined (%.1f%%), max error rate %.1f%%",
				ErrErrorBudget, q, handled, 100*rate, 100*limit)}
		}
	}
	return nil
}
