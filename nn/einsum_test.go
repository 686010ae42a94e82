package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestFastEinsum compares FastEinsum's value and gradients with
// graph.Einsum's on the equations the layers use (and a few more).
func TestFastEinsum(t *testing.T) {
	cases := []struct {
		eq         string
		dimA, dimB []int
	}{
		{"bi,io->bo", []int{3, 4}, []int{4, 5}},
		{"bni,io->bno", []int{2, 3, 4}, []int{4, 5}},
		{"bqhd,bkhd->bhqk", []int{2, 3, 2, 4}, []int{2, 5, 2, 4}},
		{"qhd,bkhd->bhqk", []int{3, 2, 4}, []int{2, 5, 2, 4}},
		{"bhqk,bkhd->bqhd", []int{2, 2, 3, 5}, []int{2, 5, 2, 4}},
		{"bkn,bnd->bkd", []int{2, 3, 6}, []int{2, 6, 4}},
		{"ie,je->ij", []int{3, 4}, []int{5, 4}},
		// Weight gradients contracted in chunks (chunkedEinsum): 8, 4
		// and 2 chunks.
		{"bni,io->bno", []int{16, 3, 4}, []int{4, 5}},
		{"bni,io->bno", []int{12, 3, 4}, []int{4, 5}},
		{"bi,io->bo", []int{6, 4}, []int{4, 5}},
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range cases {
		t.Run(c.eq, func(t *testing.T) {
			a := &Tensor{Name: "a", Shape: c.dimA, Data: randData(rng, Size(c.dimA), 1)}
			b := &Tensor{Name: "b", Shape: c.dimB, Data: randData(rng, Size(c.dimB), 1)}
			p := NewParams()
			p.Add(a)
			p.Add(b)
			var outDims []int
			fn := func(s *Scope, d []*graph.Node) (*graph.Node, []*graph.Node) {
				y := s.einsum(c.eq, s.Var("a"), s.Var("b"))
				outDims = y.Shape().Dimensions
				// A non-uniform weighting so every output element's
				// gradient differs.
				return graph.ReduceAllSum(graph.Mul(y, graph.Sin(y))), []*graph.Node{y}
			}
			custom, stock := gradsOf(t, p, fn, []*tensors.Tensor{})
			if d := maxRelDiff(custom.Extras, stock.Extras); d > 1e-6 {
				t.Fatalf("values differ: %g (out dims %v)", d, outDims)
			}
			if d := maxRelDiff(custom.Grads, stock.Grads); d > 1e-5 {
				t.Fatalf("gradients differ: %g", d)
			}
		})
	}
}

func TestFastEinsumRejects(t *testing.T) {
	for _, eq := range []string{"ij,jk", "ij->i", "ij,jk,kl->il", "ijx,jk->ik"} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(error).Error(), eq) {
					t.Errorf("%q: panic %v, want an error naming the equation", eq, r)
				}
			}()
			parseEinsum(eq)
		}()
	}
}
