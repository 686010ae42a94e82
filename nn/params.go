package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph DSL
)

// Sentinel errors.
var (
	ErrBackend   = errors.New("nn: backend")
	ErrConfig    = errors.New("nn: invalid config")
	ErrParam     = errors.New("nn: parameter")
	ErrNonFinite = errors.New("nn: non-finite value")
)

// Tensor is a named float32 parameter held in Go memory, row-major.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Size is the number of elements of shape.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Name: t.Name, Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
}

// Params is an ordered set of named tensors (sorted by name).
type Params struct {
	list  []*Tensor
	index map[string]int
}

// NewParams returns an empty set.
func NewParams() *Params { return &Params{index: map[string]int{}} }

// Add inserts t (replacing a tensor of the same name).
func (p *Params) Add(t *Tensor) {
	if i, ok := p.index[t.Name]; ok {
		p.list[i] = t
		return
	}
	i, _ := slices.BinarySearchFunc(p.list, t.Name, func(a *Tensor, n string) int { return strings.Compare(a.Name, n) })
	p.list = slices.Insert(p.list, i, t)
	p.reindex()
}

func (p *Params) reindex() {
	clear(p.index)
	for i, t := range p.list {
		p.index[t.Name] = i
	}
}

// Get returns the tensor named name or nil.
func (p *Params) Get(name string) *Tensor {
	if i, ok := p.index[name]; ok {
		return p.list[i]
	}
	return nil
}

// List returns the tensors sorted by name; do not modify the slice.
func (p *Params) List() []*Tensor { return p.list }

// Len is the number of tensors.
func (p *Params) Len() int { return len(p.list) }

// Count is the number of scalar parameters.
func (p *Params) Count() int {
	n := 0
	for _, t := range p.list {
		n += len(t.Data)
	}
	return n
}

// Clone returns a deep copy.
func (p *Params) Clone() *Params {
	q := NewParams()
	for _, t := range p.list {
		q.list = append(q.list, t.Clone())
	}
	q.reindex()
	return q
}

// Filter returns the tensors (shared, not copied) whose name has one of
// the prefixes.
func (p *Params) Filter(prefixes ...string) *Params {
	q := NewParams()
	for _, t := range p.list {
		for _, pre := range prefixes {
			if strings.HasPrefix(t.Name, pre) {
				q.list = append(q.list, t)
				break
			}
		}
	}
	q.reindex()
	return q
}

// init helpers --------------------------------------------------------------

// Init creates parameters deterministically from a seed.
type Init struct {
	P   *Params
	rng *rand.Rand
}

// NewInit returns an initializer adding to p, drawing from seed.
func NewInit(p *Params, seed uint64) *Init {
	return &Init{P: p, rng: rand.New(rand.NewPCG(seed, 0x6d6564666c6f77))}
}

// Const adds a tensor filled with v.
func (in *Init) Const(name string, v float32, shape ...int) {
	d := make([]float32, Size(shape))
	for i := range d {
		d[i] = v
	}
	in.P.Add(&Tensor{Name: name, Shape: shape, Data: d})
}

// Normal adds a tensor drawn from N(0, std²), truncated at 2 std.
func (in *Init) Normal(name string, std float64, shape ...int) {
	d := make([]float32, Size(shape))
	for i := range d {
		for {
			x := in.rng.NormFloat64()
			if math.Abs(x) <= 2 {
				d[i] = float32(x * std)
				break
			}
		}
	}
	in.P.Add(&Tensor{Name: name, Shape: shape, Data: d})
}

// XavierUniform adds a [fanIn, fanOut] matrix drawn from U(±sqrt(6/(in+out))).
func (in *Init) XavierUniform(name string, fanIn, fanOut int) {
	a := math.Sqrt(6 / float64(fanIn+fanOut))
	d := make([]float32, fanIn*fanOut)
	for i := range d {
		d[i] = float32((in.rng.Float64()*2 - 1) * a)
	}
	in.P.Add(&Tensor{Name: name, Shape: []int{fanIn, fanOut}, Data: d})
}

// Scope maps parameter names to graph nodes while a graph is built.
type Scope struct {
	// Stock makes layers use graph.Einsum and its stock gradient instead of
	// FastEinsum (for the stock-vs-custom comparison).
	Stock  bool
	prefix string
	vars   map[string]*Node
	g      *Graph
}

// NewScope returns a root scope over vars.
func NewScope(g *Graph, vars map[string]*Node) *Scope { return &Scope{vars: vars, g: g} }

// Graph is the graph being built.
func (s *Scope) Graph() *Graph { return s.g }

// In returns the sub-scope name.
func (s *Scope) In(name string) *Scope {
	return &Scope{Stock: s.Stock, prefix: s.join(name), vars: s.vars, g: s.g}
}

func (s *Scope) join(name string) string {
	if s.prefix == "" {
		return name
	}
	return s.prefix + "/" + name
}

// Var returns the node of parameter name; it panics (a programming error,
// recovered by the exec helpers) when absent.
func (s *Scope) Var(name string) *Node {
	n := s.vars[s.join(name)]
	if n == nil {
		panic(fmt.Errorf("%w %q missing from the model", ErrParam, s.join(name)))
	}
	return n
}

// Decays reports whether AdamW applies weight decay to the tensor: only
// matrices named ".../w"; biases, norm scales/biases, position embeddings,
// tokens, queries and the temperature are excluded.
func Decays(name string, shape []int) bool {
	return len(shape) >= 2 && (name == "w" || strings.HasSuffix(name, "/w"))
}
