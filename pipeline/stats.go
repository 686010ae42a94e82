package pipeline

import (
	"sync/atomic"
	"time"
)

// stageStats are a stage's live counters, updated with atomics by its
// goroutines and read by progress displays while the run goes on.
type stageStats struct {
	rowsIn, batchesIn   atomic.Int64
	rowsOut, batchesOut atomic.Int64
	bytesIn, bytesOut   atomic.Int64
	busyNs              atomic.Int64 // inside the stage's own callbacks
	blockedNs           atomic.Int64 // of busy: waiting for downstream to take a batch
	idleNs              atomic.Int64 // waiting for upstream to deliver a batch
	startNs, endNs      atomic.Int64 // unix nanoseconds; 0 = not yet
	resumed             atomic.Int64 // input batches (or keyed parts) replayed from an interrupted run's parts
	resumedRows         atomic.Int64 // rows of the keyed parts replayed
	spilled             atomic.Int64 // bytes of barrier input written to spill files
	state               atomic.Int32
}

// State is where a stage is in its life.
type State int32

const (
	Pending State = iota
	Running
	Done
	Failed
	Reused  // read from the cache instead of computed
	Skipped // not needed: only reused stages read it
)

func (s State) String() string {
	return [...]string{"pending", "running", "done", "failed", "reused", "skipped"}[s]
}

// StageStats is a consistent-enough snapshot of one stage's counters.
type StageStats struct {
	Stage, Kind string
	Role        Role
	State       State
	Workers     int
	RowsIn      int64
	BatchesIn   int64
	RowsOut     int64
	BatchesOut  int64
	BytesIn     int64 // Arrow buffer bytes of the batches received
	BytesOut    int64 // Arrow buffer bytes of the batches emitted
	// Busy is the time spent in the stage's callbacks, summed over
	// workers; Blocked is the part of it spent waiting for downstream
	// (backpressure); Idle is time spent waiting for input.
	Busy, Blocked, Idle time.Duration
	// Elapsed is wall time from the stage's start to its end (or now).
	Elapsed time.Duration
	// Resumed counts input batches whose output an earlier, interrupted
	// run had committed and this run replayed instead of recomputing.
	Resumed int64
	// ResumedRows counts the rows of the keyed parts (PartKeyer) this run
	// replayed; the stage itself was given only the other rows.
	ResumedRows int64
	// Spilled is the size of the spill files a barrier's inputs took in
	// RunOptions.SpillDir (those read from the cache take none).
	Spilled int64
}

// Work is Busy minus Blocked: time the stage really worked.
func (s StageStats) Work() time.Duration { return s.Busy - s.Blocked }

// RowsPerSec is the stage's output (for sinks: input) rate over its
// elapsed time.
func (s StageStats) RowsPerSec() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	rows := s.RowsOut
	if s.Role == RoleSink {
		rows = s.RowsIn
	}
	return float64(rows) / s.Elapsed.Seconds()
}

func (st *stageStats) snapshot(n *Node, now time.Time) StageStats {
	s := StageStats{
		Stage: n.Spec.Name, Kind: n.Spec.Kind, Role: n.Def.Role, Workers: n.Workers,
		State:     State(st.state.Load()),
		RowsIn:    st.rowsIn.Load(),
		BatchesIn: st.batchesIn.Load(),
		RowsOut:   st.rowsOut.Load(), BatchesOut: st.batchesOut.Load(),
		BytesIn: st.bytesIn.Load(), BytesOut: st.bytesOut.Load(),
		Busy:        time.Duration(st.busyNs.Load()),
		Blocked:     time.Duration(st.blockedNs.Load()),
		Idle:        time.Duration(st.idleNs.Load()),
		Resumed:     st.resumed.Load(),
		ResumedRows: st.resumedRows.Load(),
		Spilled:     st.spilled.Load(),
	}
	if start := st.startNs.Load(); start > 0 {
		end := st.endNs.Load()
		if end == 0 {
			end = now.UnixNano()
		}
		s.Elapsed = time.Duration(end - start)
	}
	return s
}
