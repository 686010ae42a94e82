package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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

// batchKey is the context key of the batchQuarantine a resumable stage's
// Process call runs with.
type batchKey struct{}

// batchQuarantine collects what one stage quarantines while it processes
// one input batch, so that it is kept with the part holding that batch's
// output and restored when the part is replayed.
type batchQuarantine struct {
	stage   string
	mu      sync.Mutex
	entries []QuarantineEntry
}

// take returns what was collected.
func (b *batchQuarantine) take() []QuarantineEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.entries
}

func (s stageQuarantine) Add(ctx context.Context, key, reason string) error {
	// key and reason often come from an Arrow array (keys.Value(i)) whose
	// buffer goes back to a pooling allocator once the batch is released:
	// the entry outlives the batch, so it keeps copies.
	e := QuarantineEntry{Stage: s.stage, Key: strings.Clone(key), Reason: strings.Clone(reason)}
	if ctx != nil {
		if b, ok := ctx.Value(batchKey{}).(*batchQuarantine); ok && b.stage == s.stage {
			b.mu.Lock()
			b.entries = append(b.entries, e)
			b.mu.Unlock()
		}
	}
	return s.log.add(e)
}

// add appends e and checks the run's budget (PlanOptions.MaxQuarantined).
func (q *quarantineLog) add(e QuarantineEntry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries = append(q.entries, e)
	if n := len(q.entries); q.max != 0 && n > max(q.max, 0) {
		return fmt.Errorf("%w: %d records quarantined, budget %d; last: %s: %s", ErrErrorBudget, n, max(q.max, 0), e.Key, e.Reason)
	}
	return nil
}

// restore appends entries an earlier run recorded for stages this run
// reuses or skips; they were counted against that run's budget.
func (q *quarantineLog) restore(es []QuarantineEntry) {
	q.mu.Lock()
	q.entries = append(q.entries, es...)
	q.mu.Unlock()
}

func (q *quarantineLog) snapshot() []QuarantineEntry {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]QuarantineEntry(nil), q.entries...)
}

// ErrAllQuarantined is returned (wrapped in a *StageError) when a stage
// quarantined records and emitted none: its output would be empty, which
// is a broken input or a wrong param (a typo in a list of section names),
// not data to commit.
var ErrAllQuarantined = errors.New("every record was quarantined")

// maxErrorRate is n's error budget: StageSpec.MaxErrorRate, else
// PlanOptions.MaxErrorRate.
func (r *Run) maxErrorRate(n *Node) float64 {
	if n.Spec.MaxErrorRate != nil {
		return *n.Spec.MaxErrorRate
	}
	return r.plan.opts.MaxErrorRate
}

// checkErrorRate returns an ErrErrorBudget error when a stage this run
// computes quarantined more than its max error rate of the records it
// handled so far, and an ErrAllQuarantined error when a stage whose counts
// are final quarantined records and emitted none. rates and final name the
// stages to check (nil: all; final counts are those of finished stages
// and of the upstream of a stage about to commit).
func (r *Run) checkErrorRate(rates, final map[*Node]bool) error {
	counts := map[string]int64{}
	for _, e := range r.plan.quar.snapshot() {
		counts[e.Stage]++
	}
	for i, n := range r.plan.Nodes {
		q := counts[n.Spec.Name]
		if q == 0 || n.Decision != Compute {
			continue // entries of reused and skipped stages were checked by the run that computed them
		}
		in, out := r.stats[i].rowsIn.Load(), r.stats[i].rowsOut.Load()
		handled := in
		if n.Def.Role == RoleSource {
			handled = out + q // a source drops what it quarantines
		}
		if (final == nil || final[n]) && n.Def.Role != RoleSink && out == 0 {
			got := ""
			if n.Def.Role != RoleSource {
				got = fmt.Sprintf(" of the %d it received", in)
			}
			return &StageError{Stage: n.Spec.Name, Record: -1, Err: fmt.Errorf("%w: %d records quarantined, none%s passed (first: %s)",
				ErrAllQuarantined, q, got, r.firstQuarantined(n))}
		}
		limit := r.maxErrorRate(n)
		if limit <= 0 || (rates != nil && !rates[n]) {
			continue
		}
		if rate := float64(q) / float64(max(handled, 1)); rate > limit {
			return &StageError{Stage: n.Spec.Name, Record: -1, Err: fmt.Errorf("%w: %d of %d records quarantined (%.1f%%), max error rate %.1f%%; first: %s",
				ErrErrorBudget, q, handled, 100*rate, 100*limit, r.firstQuarantined(n))}
		}
	}
	return nil
}

// firstQuarantined names n's first quarantined record: "key: reason".
func (r *Run) firstQuarantined(n *Node) string {
	for _, e := range r.plan.quar.snapshot() {
		if e.Stage == n.Spec.Name {
			return e.Key + ": " + e.Reason
		}
	}
	return "none"
}

// Quarantine records kept with committed outputs. A materialized stage,
// and a sink that records its fingerprint, write QuarantineArtifact to
// their artifacts just before they commit: what they and every stage
// upstream of them quarantined while the output was made (entries of
// upstream stages that were reused come from those stages' records). A
// run that reuses the output, and so skips the stages only it needed,
// restores those entries, so its quarantine is that of a cold run. A
// resumable transform also keeps, beside committed part k, what it
// quarantined while processing input batch k (QuarantinePartPattern),
// restored when the part is replayed.
const (
	QuarantineArtifact    = "quarantine.json"
	QuarantinePartPattern = "quarantine/batch-%06d.json"
)

// quarantineItem is one entry of a quarantine record; the stage is named
// by fingerprint, since another variant may call it otherwise.
type quarantineItem struct {
	Fingerprint string `json:"fingerprint,omitempty"`
	Stage       string `json:"stage,omitempty"`
	Key         string `json:"key"`
	Reason      string `json:"reason"`
}

// upstream returns n and every stage it reads from, directly or not.
func upstream(n *Node) map[*Node]bool {
	seen := map[*Node]bool{}
	var walk func(*Node)
	walk = func(n *Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, up := range n.Inputs {
			walk(up)
		}
	}
	walk(n)
	return seen
}

// saveQuarantine writes n's quarantine record (see QuarantineArtifact).
func (r *Run) saveQuarantine(ctx context.Context, n *Node) error {
	fps := map[string]string{}
	for up := range upstream(n) {
		fps[up.Spec.Name] = up.Fingerprint
	}
	items := []quarantineItem{}
	for _, e := range r.plan.quar.snapshot() {
		if fp, ok := fps[e.Stage]; ok {
			items = append(items, quarantineItem{Fingerprint: fp, Stage: e.Stage, Key: e.Key, Reason: e.Reason})
		}
	}
	data, err := json.Marshal(items)
	if err != nil {
		return err
	}
	if err := n.artifacts.Put(ctx, QuarantineArtifact, data); err != nil {
		return fmt.Errorf("write the quarantine record: %w", err)
	}
	return nil
}

// restoreQuarantine adds what the reused stages' records hold for the
// stages this run does not compute, each stage's entries once.
func (r *Run) restoreQuarantine(ctx context.Context) error {
	byFP := map[string]*Node{}
	for _, n := range r.plan.Nodes {
		byFP[n.Fingerprint] = n
	}
	done := map[string]bool{}
	for _, n := range r.plan.Nodes {
		if n.Decision != Reuse {
			continue
		}
		data, err := n.artifacts.Get(ctx, QuarantineArtifact)
		if errors.Is(err, fs.ErrNotExist) {
			continue // committed before records were kept
		}
		if err != nil {
			return &StageError{Stage: n.Spec.Name, Record: -1, Err: fmt.Errorf("read the quarantine record of the reused output: %w", err)}
		}
		var items []quarantineItem
		if err := json.Unmarshal(data, &items); err != nil {
			return &StageError{Stage: n.Spec.Name, Record: -1, Err: fmt.Errorf("quarantine record %s of the reused output: %w", QuarantineArtifact, err)}
		}
		var restored []QuarantineEntry
		seen := map[string]bool{}
		for _, it := range items {
			up := byFP[it.Fingerprint]
			if up == nil || up.Decision == Compute || done[it.Fingerprint] {
				continue // computed by this run, which quarantines it afresh
			}
			seen[it.Fingerprint] = true
			restored = append(restored, QuarantineEntry{Stage: up.Spec.Name, Key: it.Key, Reason: it.Reason})
		}
		for fp := range seen {
			done[fp] = true
		}
		r.plan.quar.restore(restored)
	}
	return nil
}

// savePartQuarantine keeps what the stage quarantined while processing
// input batch k, before part k is committed.
func (s *stageRun) savePartQuarantine(ctx context.Context, k int, es []QuarantineEntry) error {
	name := fmt.Sprintf(QuarantinePartPattern, k)
	if len(es) == 0 {
		if !s.partQuar[name] {
			return nil
		}
		return s.node.artifacts.Delete(ctx, name) // left by an earlier run
	}
	items := make([]quarantineItem, len(es))
	for i, e := range es {
		items[i] = quarantineItem{Key: e.Key, Reason: e.Reason}
	}
	data, err := json.Marshal(items)
	if err != nil {
		return err
	}
	if err := s.node.artifacts.Put(ctx, name, data); err != nil {
		return fmt.Errorf("write the quarantine record of part %d: %w", k, err)
	}
	return nil
}

// replayPartQuarantine adds again what the stage quarantined while it
// processed input batch k in the run that committed part k.
func (s *stageRun) replayPartQuarantine(ctx context.Context, k int) error {
	name := fmt.Sprintf(QuarantinePartPattern, k)
	if !s.partQuar[name] {
		return nil
	}
	data, err := s.node.artifacts.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("read the quarantine record of part %d: %w", k, err)
	}
	var items []quarantineItem
	if err := json.Unmarshal(data, &items); err != nil {
		return fmt.Errorf("quarantine record %s: %w", name, err)
	}
	for _, it := range items {
		if err := s.run.plan.quar.add(QuarantineEntry{Stage: s.node.Spec.Name, Key: it.Key, Reason: it.Reason}); err != nil {
			return err
		}
	}
	return nil
}
