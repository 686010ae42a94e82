package pipeline

import (
	"errors"
	"fmt"
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
