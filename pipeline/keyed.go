package pipeline

// Part-level resume of Flushers by row key: each batch such a stage emits
// is committed as a part (with the list of its keys) as soon as it is
// emitted; a rerun drops the input rows that committed parts hold and
// replays those parts, in input order, among what the stage computes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/zeebo/xxh3"
)

// PartKeyer is implemented by Flushers that resume by parts. PartKey names
// a column of both the stage's input and output that identifies a row:
// its values must be unique (and not null) in the input. The stage must
// emit each input row at most once, keeping its key, in input order (it
// may drop rows, e.g. quarantined ones, and group the rest into batches
// as it likes). "" means the stage has no key: it resumes as a whole.
//
// A materialized PartKeyer stage with one input, run with a PartCache in
// an ordered run, then commits every batch it emits as a part at once:
// the part's identity is the list of its keys (KeyedPartPattern). A rerun
// after a crash drops the input rows whose keys committed parts hold
// before the stage sees them, so the stage computes only the rest, and
// emits each committed part when its first row's turn comes in input
// order: the output is then the same, row for row, as an uninterrupted
// run's (rows in input order; a part whose first row comes before a batch
// the stage emits is emitted before it). Rows the stage dropped were in no
// part, so the rerun hands them to the stage again (quarantining them
// again).
type PartKeyer interface {
	PartKey() string
}

// KeyedPartPattern names the artifact holding the keys of keyed part k,
// written before the part is committed.
const KeyedPartPattern = "parts/keys-%06d.json"

// keyedRecord is what KeyedPartPattern holds.
type keyedRecord struct {
	Keys []string `json:"keys"`
	// ID is the xxh3 of the keys (each followed by a NUL byte): the
	// part's identity, checked when the part is replayed.
	ID string `json:"id"`
}

func keysID(keys []string) string {
	h := xxh3.New()
	for _, k := range keys {
		h.WriteString(k)
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// keyedParts is the state of a stage resuming by keyed parts.
type keyedParts struct {
	s     *stageRun
	parts PartWriter
	col   string

	mu    sync.Mutex
	done  map[string]int      // key -> committed part holding it
	recs  []keyedRecord       // committed parts 0..len-1 (by an earlier run)
	found []bool              // committed part seen in this run's input
	queue []pendingPart       // committed parts found, not yet emitted
	pos   map[string]int64    // key -> input position, until emitted
	keys  map[string]struct{} // every key received, to refuse a repeat
	seen  int64               // input rows scanned
	last  int64               // position of the last row emitted, -1 none
	next  int                 // number of the next part in output order
}

type pendingPart struct {
	k   int
	pos int64
}

// keyed reports the key column of a stage that resumes by keyed parts, or
// "".
func (s *stageRun) keyedColumn() string {
	_, isTransform := s.node.Stage.(Transform)
	_, flushes := s.node.Stage.(Flusher)
	pk, ok := s.node.Stage.(PartKeyer)
	if !isTransform || !flushes || !ok || len(s.node.Inputs) != 1 || s.run.opts.Unordered {
		return ""
	}
	return pk.PartKey()
}

// openKeyed loads the keyed parts an earlier run committed: the prefix
// 0..m-1 of parts whose data and key record are both intact.
func (s *stageRun) openKeyed(ctx context.Context, pw PartWriter, col string) (*keyedParts, error) {
	kp := &keyedParts{s: s, parts: pw, col: col, done: map[string]int{}, pos: map[string]int64{}, keys: map[string]struct{}{}, last: -1}
	if s.node.forced {
		return kp, nil
	}
	for k := 0; pw.Has(k); k++ {
		data, err := s.node.artifacts.Get(ctx, fmt.Sprintf(KeyedPartPattern, k))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read the keys of part %d: %w", k, err)
		}
		var rec keyedRecord
		if err := json.Unmarshal(data, &rec); err != nil || rec.ID != keysID(rec.Keys) {
			break // damaged: recompute from here
		}
		for _, key := range rec.Keys {
			kp.done[key] = k
		}
		kp.recs = append(kp.recs, rec)
	}
	kp.found = make([]bool, len(kp.recs))
	return kp, nil
}

// keyStrings copies the key column of b (name col) to strings.
func keyStrings(b arrow.RecordBatch, col string) ([]string, error) {
	idx := b.Schema().FieldIndices(col)
	if len(idx) == 0 {
		return nil, fmt.Errorf("%w: no key column %q for part-level resume", ErrSchemaMismatch, col)
	}
	c := b.Column(idx[0])
	out := make([]string, c.Len())
	for i := range out {
		if c.IsNull(i) {
			return nil, RecordError(i, fmt.Errorf("null key in column %q (part-level resume needs a key per row)", col))
		}
		switch a := c.(type) {
		case *array.String:
			out[i] = strings.Clone(a.Value(i))
		case *array.LargeString:
			out[i] = strings.Clone(a.Value(i))
		default:
			out[i] = c.ValueStr(i)
		}
	}
	return out, nil
}

// filter drops the rows of input batch b that committed parts hold,
// noting where each committed part's first row comes, and returns what
// the stage must compute (nil when nothing: b is released then). It
// takes ownership of b.
func (kp *keyedParts) filter(ctx context.Context, b arrow.RecordBatch) (arrow.RecordBatch, error) {
	keys, err := keyStrings(b, kp.col)
	if err != nil {
		b.Release()
		return nil, err
	}
	kp.mu.Lock()
	var mask []bool
	dropped := 0
	for i, key := range keys {
		pos := kp.seen + int64(i)
		if _, dup := kp.keys[key]; dup {
			kp.mu.Unlock()
			b.Release()
			return nil, RecordError(i, fmt.Errorf("key %q of column %q is not unique: part-level resume needs one row per key (key_column naming a unique column)", key, kp.col))
		}
		kp.keys[key] = struct{}{}
		if k, ok := kp.done[key]; ok {
			if mask == nil {
				mask = make([]bool, len(keys))
				for j := range i {
					mask[j] = true
				}
			}
			if !kp.found[k] {
				kp.found[k] = true
				kp.queue = append(kp.queue, pendingPart{k, pos})
			}
			delete(kp.done, key)
			dropped++
			continue
		}
		kp.pos[key] = pos
		if mask != nil {
			mask[i] = true
		}
	}
	kp.seen += int64(len(keys))
	kp.mu.Unlock()
	if dropped == 0 {
		return b, nil
	}
	defer b.Release()
	if dropped == len(keys) {
		return nil, nil
	}
	mb := array.NewBooleanBuilder(kp.s.run.plan.opts.Alloc)
	defer mb.Release()
	mb.AppendValues(mask, nil)
	m := mb.NewArray()
	defer m.Release()
	out, err := compute.FilterRecordBatch(compute.WithAllocator(ctx, kp.s.run.plan.opts.Alloc), b, m, compute.DefaultFilterOptions())
	if err != nil {
		return nil, fmt.Errorf("drop the rows of committed parts: %w", err)
	}
	return out, nil
}

// emit commits b, a batch the stage emitted, as the next part (after
// emitting the committed parts whose first row comes before b's) and
// sends it on; it takes ownership of b. Empty batches are sent on
// uncommitted.
func (kp *keyedParts) emit(ctx context.Context, b arrow.RecordBatch, send func(arrow.RecordBatch) error) error {
	if b.NumRows() == 0 {
		return send(b)
	}
	keys, err := keyStrings(b, kp.col)
	if err != nil {
		b.Release()
		return err
	}
	kp.mu.Lock()
	first := int64(-1)
	for _, key := range keys {
		p, ok := kp.pos[key]
		if !ok {
			kp.mu.Unlock()
			b.Release()
			return fmt.Errorf("part-level resume: emitted key %q, which the stage was not given or emitted before", key)
		}
		if p <= kp.last {
			kp.mu.Unlock()
			b.Release()
			return fmt.Errorf("part-level resume: key %q emitted out of input order", key)
		}
		if first < 0 {
			first = p
		}
		kp.last = p
		delete(kp.pos, key)
	}
	kp.mu.Unlock()
	if err := kp.replayBefore(ctx, first, send); err != nil {
		b.Release()
		return err
	}
	rec := keyedRecord{Keys: keys, ID: keysID(keys)}
	data, err := json.Marshal(rec)
	if err == nil {
		err = kp.s.node.artifacts.Put(ctx, fmt.Sprintf(KeyedPartPattern, kp.next), data)
	}
	if err == nil {
		err = kp.parts.Put(kp.next, []arrow.RecordBatch{b})
	}
	if err != nil {
		b.Release()
		return fmt.Errorf("materialize: part %d: %w", kp.next, err)
	}
	kp.next++
	return send(b)
}

// replayBefore emits the committed parts found whose first row comes
// before position pos (every one, for pos < 0).
func (kp *keyedParts) replayBefore(ctx context.Context, pos int64, send func(arrow.RecordBatch) error) error {
	for {
		kp.mu.Lock()
		if len(kp.queue) == 0 || (pos >= 0 && kp.queue[0].pos > pos) {
			kp.mu.Unlock()
			return nil
		}
		p := kp.queue[0]
		kp.queue = kp.queue[1:]
		kp.mu.Unlock()
		if p.k != kp.next {
			return fmt.Errorf("part-level resume: committed part %d comes where part %d should (the input's order changed)", p.k, kp.next)
		}
		rec := kp.recs[p.k]
		var got []string
		err := kp.parts.Replay(ctx, p.k, func(b arrow.RecordBatch) error {
			keys, err := keyStrings(b, kp.col)
			if err != nil {
				b.Release()
				return err
			}
			got = append(got, keys...)
			kp.s.st.resumedRows.Add(b.NumRows())
			return send(b)
		})
		if err != nil {
			return fmt.Errorf("replay part %d: %w", p.k, err)
		}
		if keysID(got) != rec.ID {
			return fmt.Errorf("replay part %d: it holds other rows than its key record %s", p.k, fmt.Sprintf(KeyedPartPattern, p.k))
		}
		kp.s.st.resumed.Add(1)
		kp.next++
	}
}

// finish emits the committed parts still waiting, once the stage has
// flushed, and checks that every committed part was met in the input.
func (kp *keyedParts) finish(ctx context.Context, send func(arrow.RecordBatch) error) error {
	if err := kp.replayBefore(ctx, -1, send); err != nil {
		return err
	}
	for k, ok := range kp.found {
		if !ok {
			return fmt.Errorf("part-level resume: committed part %d holds rows the input no longer has (is the upstream deterministic?)", k)
		}
	}
	if len(kp.done) > 0 {
		return fmt.Errorf("part-level resume: %d rows of committed parts are not in the input (is the upstream deterministic?)", len(kp.done))
	}
	return nil
}
