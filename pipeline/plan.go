package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/internal/suggest"
	"github.com/medflow/medflow/schemas"
)

// DefaultBuffer is the capacity, in batches, of an edge when the stage does
// not set one. Two lets a producer fill the next batch while the consumer
// works on the current one without letting memory grow with data size.
const DefaultBuffer = 2

// PlanOptions are the run-independent inputs of planning.
type PlanOptions struct {
	// CodeVersion is mixed into every fingerprint (e.g. the module version).
	CodeVersion string
	Shard       Shard
	Alloc       memory.Allocator // default memory.DefaultAllocator
	Logger      *slog.Logger     // default slog.Default()
	// MaxQuarantined is the error budget: the run fails once more records
	// than this are quarantined. 0 means no budget; < 0 means none allowed.
	MaxQuarantined int
	// MaxErrorRate fails the run when a stage quarantines more than this
	// fraction of the records it handled (0: no limit). It is checked
	// before every sink commits and when the run ends.
	MaxErrorRate float64
}

// Node is one validated stage of a Plan.
type Node struct {
	Spec   StageSpec
	Def    *Definition
	Stage  Stage
	Params Params
	// Inputs and Outputs are the upstream and downstream nodes.
	Inputs, Outputs []*Node
	// Fingerprint is hash(kind, version, code version, params, upstream
	// fingerprints): equal fingerprints mean equal outputs.
	Fingerprint string
	Workers     int
	Buffer      int
	// Decision is set by Plan.Resolve; Compute otherwise.
	Decision Decision
	inputFP  string // a source's input fingerprint, from Resolve
	forced   bool   // recomputed on request (Resolve's force)
	// artifacts is the stage's BuildContext.Artifacts, bound by NewRun.
	artifacts *artifactSlot
	index     int
}

// Plan is a validated variant, nodes in topological order.
type Plan struct {
	Spec  Spec
	Nodes []*Node
	opts  PlanOptions
	quar  *quarantineLog
	cache Cache // set by Resolve
}

// Node returns the node named name, or nil.
func (p *Plan) Node(name string) *Node {
	for _, n := range p.Nodes {
		if n.Spec.Name == name {
			return n
		}
	}
	return nil
}

// Plan validates spec against the registry and builds every stage. All
// problems found are returned together (errors.Join of *PlanError), each
// naming the variant, stage and key.
func (r *Registry) Plan(spec Spec, opts PlanOptions) (*Plan, error) {
	if opts.Alloc == nil {
		opts.Alloc = memory.DefaultAllocator
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Plan{Spec: spec, opts: opts, quar: &quarantineLog{max: opts.MaxQuarantined}}
	var errs []error
	fail := func(stage, key string, err error) {
		errs = append(errs, &PlanError{Variant: spec.Variant, Stage: stage, Key: key, Err: err})
	}
	if len(spec.Stages) == 0 {
		fail("", "stages", errors.New("variant has no stages"))
	}

	byName := map[string]*Node{}
	var names []string
	for i, s := range spec.Stages {
		switch {
		case s.Name == "":
			fail(fmt.Sprintf("#%d", i+1), "name", errors.New("stage has no name"))
			continue
		case byName[s.Name] != nil:
			fail(s.Name, "name", ErrDuplicateStage)
			continue
		}
		n := &Node{Spec: s, Workers: max(s.Workers, 1), Buffer: s.Buffer, index: i}
		if n.Buffer <= 0 {
			n.Buffer = DefaultBuffer
		}
		if s.Workers < 0 {
			fail(s.Name, "workers", fmt.Errorf("%w: must be >= 1, got %d", ErrParamType, s.Workers))
		}
		if r := s.MaxErrorRate; r != nil && !(*r >= 0 && *r <= 1) {
			fail(s.Name, "max_error_rate", fmt.Errorf("%w: want a fraction from 0 to 1, got %g", ErrParamType, *r))
		}
		byName[s.Name] = n
		names = append(names, s.Name)
		def, ok := r.Lookup(s.Kind)
		if !ok {
			fail(s.Name, "kind", fmt.Errorf("%w %q%s", ErrUnknownKind, s.Kind, suggest.Hint(s.Kind, r.kindNames())))
		}
		n.Def = def
	}

	// Edges.
	for i, s := range spec.Stages {
		n := byName[s.Name]
		if n == nil || n.index != i {
			continue // unnamed or duplicate: already reported
		}
		for _, in := range s.Inputs {
			up := byName[in]
			if up == nil {
				fail(s.Name, "inputs", fmt.Errorf("%w %q%s", ErrMissingInput, in, suggest.Hint(in, names)))
				continue
			}
			n.Inputs = append(n.Inputs, up)
			up.Outputs = append(up.Outputs, n)
		}
		if n.Def != nil {
			lo, hi := n.Def.inputBounds()
			if c := len(s.Inputs); c < lo || (hi >= 0 && c > hi) {
				fail(s.Name, "inputs", fmt.Errorf("%w: %s %q takes %s, got %d", ErrInputCount, n.Def.Role, n.Def.Kind, boundsText(lo, hi), c))
			}
		}
	}

	order, cyc := topoSort(spec.Stages, byName)
	if cyc != nil {
		fail(cyc[0], "inputs", fmt.Errorf("%w: %s", ErrCycle, strings.Join(cyc, " -> ")))
		return nil, errors.Join(errs...)
	}

	// Params, stages and schemas in topological order; a stage whose input
	// failed is not built, so one mistake is reported once.
	built := map[*Node]bool{}
	for _, n := range order {
		if n.Def == nil {
			continue
		}
		params, perrs := NewParams(n.Def.Params, n.Spec.Params)
		for _, e := range perrs {
			fail(n.Spec.Name, "params."+e.(*paramError).key, e)
		}
		n.Params = params
		var ins []*arrow.Schema
		ok := len(perrs) == 0
		for _, up := range n.Inputs {
			if !built[up] {
				ok = false
				continue
			}
			if up.Def.Role == RoleSink {
				fail(n.Spec.Name, "inputs", fmt.Errorf("%w: %q is a sink and has no output", ErrMissingInput, up.Spec.Name))
				ok = false
				continue
			}
			ins = append(ins, up.Stage.Schema())
		}
		if !ok {
			continue
		}
		if r := n.Def.Role; (r == RoleTransform || r == RoleSink) && len(ins) > 1 {
			if err := sameSchemas(n.Spec.Inputs, ins); err != nil {
				fail(n.Spec.Name, "inputs", err)
				continue
			}
		}
		n.artifacts = &artifactSlot{stage: n.Spec.Name}
		st, err := buildStage(n, &BuildContext{
			Variant: spec.Variant, Stage: n.Spec.Name, Params: params, Inputs: ins,
			Workers: n.Workers, Shard: opts.Shard, Alloc: opts.Alloc,
			Logger:     opts.Logger.With("stage", n.Spec.Name),
			Quarantine: p.quar.forStage(n.Spec.Name),
			Artifacts:  n.artifacts,
		})
		if err != nil {
			fail(n.Spec.Name, "", err)
			continue
		}
		if err := checkRole(n.Def.Role, st); err != nil {
			fail(n.Spec.Name, "kind", err)
			continue
		}
		n.Stage = st
		built[n] = true
		n.Fingerprint = fingerprint(n, opts.CodeVersion, opts.Shard)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p.Nodes = order
	return p, nil
}

func boundsText(lo, hi int) string {
	switch {
	case hi < 0:
		return fmt.Sprintf("at least %d input(s)", lo)
	case lo == hi:
		return fmt.Sprintf("exactly %d input(s)", lo)
	}
	return fmt.Sprintf("%d to %d inputs", lo, hi)
}

// buildStage calls Definition.New, turning a panic into an error.
func buildStage(n *Node, b *BuildContext) (st Stage, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w while building: %v", ErrPanic, r)
		}
	}()
	return n.Def.New(b)
}

func checkRole(r Role, st Stage) error {
	var ok bool
	switch r {
	case RoleSource:
		_, ok = st.(Source)
	case RoleTransform:
		_, ok = st.(Transform)
	case RoleSink:
		_, ok = st.(Sink)
	case RoleBarrier:
		_, ok = st.(Barrier)
	}
	if !ok {
		return fmt.Errorf("stage kind is registered as a %s but does not implement it", r)
	}
	if r != RoleSink && st.Schema() == nil {
		return fmt.Errorf("%s declares no output schema", r)
	}
	return nil
}

func sameSchemas(names []string, ins []*arrow.Schema) error {
	for i := 1; i < len(ins); i++ {
		if !ins[i].Equal(ins[0]) {
			return fmt.Errorf("%w: inputs %q and %q are merged but differ:\n  %s\n  %s",
				ErrSchemaMismatch, names[0], names[i], SchemaString(ins[0]), SchemaString(ins[i]))
		}
	}
	return nil
}

// SchemaString renders a schema on one line: "a: int64, b: utf8?".
func SchemaString(s *arrow.Schema) string { return schemas.String(s) }

// topoSort orders stages so that inputs come first, keeping declaration
// order among independent stages. On a cycle it returns the cycle's path.
func topoSort(stages []StageSpec, byName map[string]*Node) ([]*Node, []string) {
	const (
		white = iota
		grey
		black
	)
	color := map[*Node]int{}
	var order []*Node
	var stack []*Node
	var cycle []string
	var visit func(n *Node) bool
	visit = func(n *Node) bool {
		switch color[n] {
		case black:
			return true
		case grey:
			for i, s := range stack {
				if s == n {
					for _, c := range stack[i:] {
						cycle = append(cycle, c.Spec.Name)
					}
					cycle = append(cycle, n.Spec.Name)
				}
			}
			return false
		}
		color[n] = grey
		stack = append(stack, n)
		for _, up := range n.Inputs {
			if !visit(up) {
				return false
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		order = append(order, n)
		return true
	}
	for _, s := range stages {
		n := byName[s.Name]
		if n == nil || color[n] == black {
			continue
		}
		if !visit(n) {
			return nil, cycle
		}
	}
	return order, nil
}

// fingerprint hashes what determines a stage's output. A sharded run sees
// only part of the input, so the shard is part of it too.
func fingerprint(n *Node, codeVersion string, shard Shard) string {
	h := sha256.New()
	if !shard.All() {
		fmt.Fprintf(h, "shard=%d/%d\n", shard.Index, shard.Count)
	}
	params, _ := json.Marshal(n.Params.Values()) // map keys are sorted
	fmt.Fprintf(h, "kind=%s\nversion=%s\ncode=%s\nparams=%s\ninputs=%s\n", n.Def.Kind, n.Def.Version, codeVersion, params, n.inputFP)
	for _, up := range n.Inputs {
		fmt.Fprintf(h, "input=%s\n", up.Fingerprint)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
