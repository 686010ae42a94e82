package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
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
	// BaseDir, when set, is the folder relative local paths in params
	// declared with a Format (models, dataset folders) resolve against:
	// the config file's folder. Values from environment variables are
	// left as they are; fingerprints see the paths as written.
	BaseDir string
	// MaxErrorRate fails the run when a stage quarantines more than this
	// fraction of the records it handled (0: no limit). It is checked
	// before every sink commits and when the run ends.
	MaxErrorRate float64
	// VerifyBytes is how large a reused cache entry that the run reads may
	// be for Resolve to read it back against its checksums before
	// anything runs (a damaged one is then recomputed in the same run);
	// larger ones are checked part by part as they are read, and a damaged
	// part fails the run (the next run recomputes the entry). Default
	// DefaultVerifyBytes; < 0 never at plan time; math.MaxInt64 always.
	// Used with caches that implement CacheVerifier.
	VerifyBytes int64
}

// DefaultVerifyBytes is PlanOptions.VerifyBytes when 0: reused entries the
// run reads of up to 256 MiB are read back at plan time (seconds at
// most), so a flipped bit in one still means "recompute before anything
// starts"; MIMIC-CXR's pairs entry (~19 GB) is checked as it is read
// instead of being read twice.
const DefaultVerifyBytes = 256 << 20

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
	// Changed names the fingerprint parts that differ from the last run
	// of the stage (see Changes), when the caller looked; WriteText shows
	// it.
	Changed  []string
	inputFP  string            // a source's input fingerprint, from Resolve
	paramsOK bool              // Params passed the spec's checks
	parts    map[string]string // what Fingerprint hashes, by name
	files    map[string]string // fileIdentities, hashed once per plan (Resolve fingerprints again)
	fpParams map[string]any    // params as written, when BaseDir rebased paths
	forced   bool              // recomputed on request (Resolve's force)
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
// naming the file and line, variant, stage and key.
func (r *Registry) Plan(spec Spec, opts PlanOptions) (*Plan, error) {
	if opts.Alloc == nil {
		opts.Alloc = memory.DefaultAllocator
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	pl := &planner{reg: r, spec: spec, opts: opts, byName: map[string]*Node{},
		plan: &Plan{Spec: spec, opts: opts, quar: &quarantineLog{max: opts.MaxQuarantined}}}
	if len(spec.Stages) == 0 {
		pl.fail("", "stages", errors.New("variant has no stages"))
	}
	pl.nodes()
	pl.edges()
	order, cyc := topoSort(spec.Stages, pl.byName)
	if cyc != nil {
		pl.fail(cyc[0], "inputs", fmt.Errorf("%w: %s", ErrCycle, strings.Join(cyc, " -> ")))
		return nil, errors.Join(pl.errs...)
	}
	pl.build(order)
	if len(pl.errs) > 0 {
		return nil, errors.Join(pl.errs...)
	}
	pl.plan.Nodes = order
	return pl.plan, nil
}

// planner holds the state of one Registry.Plan call.
type planner struct {
	reg    *Registry
	spec   Spec
	opts   PlanOptions
	plan   *Plan
	byName map[string]*Node
	names  []string // stage names in declaration order
	errs   []error
}

// fail records a plan error at its config line: the param's line for a
// params key (a *ParamError from a stage names its key), the inputs line
// for inputs, else the stage's.
func (pl *planner) fail(stage, key string, err error) {
	var pe *ParamError
	if key == "" && errors.As(err, &pe) {
		key = "params." + pe.Key
	}
	line := 0
	for _, s := range pl.spec.Stages {
		if s.Name != stage {
			continue
		}
		line = s.Line
		if key == "inputs" && s.InputsLine > 0 {
			line = s.InputsLine
		}
		if name, ok := strings.CutPrefix(key, "params."); ok && s.ParamLines[name] > 0 {
			line = s.ParamLines[name]
		}
		break
	}
	pl.errs = append(pl.errs, &PlanError{File: pl.spec.File, Line: line, Variant: pl.spec.Variant, Stage: stage, Key: key, Err: err})
}

// nodes makes a Node per named stage, looks up its kind and checks its
// params against the kind's declarations. Params are checked for every
// stage, whatever else is wrong with the variant, so one mistake never
// hides another.
func (pl *planner) nodes() {
	for i, s := range pl.spec.Stages {
		switch {
		case s.Name == "":
			pl.fail(fmt.Sprintf("#%d", i+1), "name", errors.New("stage has no name"))
			continue
		case pl.byName[s.Name] != nil:
			pl.fail(s.Name, "name", ErrDuplicateStage)
			continue
		}
		n := &Node{Spec: s, Workers: max(s.Workers, 1), Buffer: s.Buffer, index: i}
		if n.Buffer <= 0 {
			n.Buffer = DefaultBuffer
		}
		if s.Workers < 0 {
			pl.fail(s.Name, "workers", fmt.Errorf("%w: must be >= 1, got %d", ErrParamType, s.Workers))
		}
		if r := s.MaxErrorRate; r != nil && !(*r >= 0 && *r <= 1) {
			pl.fail(s.Name, "max_error_rate", fmt.Errorf("%w: want a fraction from 0 to 1, got %g", ErrParamValue, *r))
		}
		pl.byName[s.Name] = n
		pl.names = append(pl.names, s.Name)
		def, ok := pl.reg.Lookup(s.Kind)
		if !ok {
			pl.fail(s.Name, "kind", fmt.Errorf("%w %q%s", ErrUnknownKind, s.Kind, suggest.Hint(s.Kind, pl.reg.kindNames())))
			continue
		}
		n.Def = def
		var perrs []error
		n.Params, perrs = NewParams(def.Params, s.Params, s.Redact)
		for _, e := range perrs {
			pl.fail(s.Name, "", e)
		}
		n.paramsOK = len(perrs) == 0
		if pl.opts.BaseDir != "" && n.paramsOK {
			n.fpParams = n.Params.rebase(pl.opts.BaseDir, s.Redact)
		}
	}
}

// edges links each node to its inputs and checks their number.
func (pl *planner) edges() {
	for i, s := range pl.spec.Stages {
		n := pl.byName[s.Name]
		if n == nil || n.index != i {
			continue // unnamed or duplicate: already reported
		}
		for _, in := range s.Inputs {
			up := pl.byName[in]
			if up == nil {
				pl.fail(s.Name, "inputs", fmt.Errorf("%w %q%s", ErrMissingInput, in, suggest.Hint(in, pl.names)))
				continue
			}
			n.Inputs = append(n.Inputs, up)
			up.Outputs = append(up.Outputs, n)
		}
		if n.Def != nil {
			lo, hi := n.Def.InputBounds()
			if c := len(s.Inputs); c < lo || (hi >= 0 && c > hi) {
				pl.fail(s.Name, "inputs", fmt.Errorf("%w: %s %q takes %s, got %d", ErrInputCount, n.Def.Role, n.Def.Kind, boundsText(lo, hi), c))
			}
		}
	}
}

// build builds the stages in topological order and fingerprints them. A
// stage whose params or inputs failed is not built, so one mistake is
// reported once.
func (pl *planner) build(order []*Node) {
	built := map[*Node]bool{}
	for _, n := range order {
		if n.Def == nil {
			continue
		}
		ins, ok := pl.inputSchemas(n, built)
		if !ok {
			continue
		}
		n.artifacts = &artifactSlot{stage: n.Spec.Name}
		st, err := buildStage(n, &BuildContext{
			Variant: pl.spec.Variant, Stage: n.Spec.Name, Params: n.Params, Inputs: ins,
			Workers: n.Workers, Shard: pl.opts.Shard, Alloc: pl.opts.Alloc,
			Logger:     pl.opts.Logger.With("stage", n.Spec.Name),
			Quarantine: pl.plan.quar.forStage(n.Spec.Name),
			Artifacts:  n.artifacts,
		})
		if err != nil {
			pl.fail(n.Spec.Name, "", err)
			continue
		}
		if err := checkRole(n.Def.Role, st); err != nil {
			pl.fail(n.Spec.Name, "kind", err)
			continue
		}
		n.Stage = st
		built[n] = true
		n.Fingerprint = fingerprint(n, pl.opts.CodeVersion, pl.opts.Shard)
	}
}

// inputSchemas returns the output schemas of n's inputs, and false when n
// cannot be built: a param or an input failed (already reported), an
// input is a sink, or merged inputs differ.
func (pl *planner) inputSchemas(n *Node, built map[*Node]bool) ([]*arrow.Schema, bool) {
	ok := n.paramsOK && len(n.Inputs) == len(n.Spec.Inputs) // a missing input is reported
	var ins []*arrow.Schema
	for _, up := range n.Inputs {
		if !built[up] {
			ok = false
			continue
		}
		if up.Def.Role == RoleSink {
			pl.fail(n.Spec.Name, "inputs", fmt.Errorf("%w: %q is a sink and has no output", ErrMissingInput, up.Spec.Name))
			ok = false
			continue
		}
		ins = append(ins, up.Stage.Schema())
	}
	if !ok {
		return nil, false
	}
	if r := n.Def.Role; (r == RoleTransform || r == RoleSink) && len(ins) > 1 {
		if err := sameSchemas(n.Spec.Inputs, ins); err != nil {
			pl.fail(n.Spec.Name, "inputs", err)
			return nil, false
		}
	}
	return ins, true
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

// fingerprint hashes what determines a stage's output (n.parts, kept for
// Changes). A sharded run sees only part of the input, so the shard is
// part of it too.
func fingerprint(n *Node, codeVersion string, shard Shard) string {
	if n.files == nil {
		n.files = fileIdentities(n)
	}
	parts := make(map[string]string, len(n.files)+6)
	for k, v := range n.files {
		parts[k] = v
	}
	values := n.Params.Values()
	if n.fpParams != nil {
		values = n.fpParams // as written, not as rebased
	}
	params, _ := json.Marshal(values) // map keys are sorted
	parts["kind"] = n.Def.Kind + " v" + n.Def.Version
	parts["code"] = codeVersion
	parts["params"] = string(params)
	if !shard.All() {
		parts["shard"] = fmt.Sprintf("%d/%d", shard.Index, shard.Count)
	}
	if n.inputFP != "" {
		parts["listing"] = n.inputFP
	}
	for i, up := range n.Inputs {
		parts[fmt.Sprintf("input %d", i+1)] = up.Fingerprint
	}
	n.parts = parts
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, parts[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
