package ort_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/ort"
)

// tinyCalls writes the tiny random Llama and makes n calls of [batch, seq]
// random ids (full masks).
func tinyCalls(b *testing.B, n, batch, seq int) (string, llama.Config, [][]ort.Tensor) {
	requireORT(b)
	path := filepath.Join(b.TempDir(), "tiny.onnx")
	cfg, err := llama.WriteTiny(path, 1)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	calls := make([][]ort.Tensor, n)
	for i := range calls {
		ids, mask := make([]int64, batch*seq), make([]int64, batch*seq)
		for j := range ids {
			ids[j], mask[j] = int64(3+r.IntN(cfg.Vocab-3)), 1
		}
		shape := []int64{int64(batch), int64(seq)}
		calls[i] = []ort.Tensor{{Shape: shape, Data: ids}, {Shape: shape, Data: mask}}
	}
	return path, cfg, calls
}

func contract(dim int) ort.Contract {
	return ort.Contract{
		Inputs:  []ort.Spec{{Name: "input_ids", DType: ort.Int64, Rank: 2}, {Name: "attention_mask", DType: ort.Int64, Rank: 2}},
		Outputs: []ort.Spec{{Name: "last_hidden_state", DType: ort.Float32, Rank: 3, Dims: []int64{-1, -1, int64(dim)}}},
	}
}

// runAll runs the calls from `goroutines` goroutines (call i on goroutine
// i % goroutines) and waits for them.
func runAll(b *testing.B, m *ort.Model, calls [][]ort.Tensor, goroutines int) {
	var wg sync.WaitGroup
	errs := make([]error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := g; i < len(calls); i += goroutines {
				if err := m.Run(context.Background(), calls[i], make([]ort.Tensor, 1)); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// interleaved loads one model per option set and, in every iteration,
// runs the calls on each in turn from `goroutines` callers, so that load
// from other processes hits all alike; it reports tokens/s per option set
// and each one's speed relative to the first.
func interleaved(b *testing.B, goroutines int, names []string, opts []ort.Options) {
	const batch, seq = 32, 128
	path, cfg, calls := tinyCalls(b, 8, batch, seq)
	models := make([]*ort.Model, len(opts))
	for i, o := range opts {
		m, err := ort.Load(path, contract(cfg.Dim), o)
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		runAll(b, m, calls[:goroutines], goroutines) // warm up
		models[i] = m
	}
	spent := make([]time.Duration, len(models))
	for b.Loop() {
		for i, m := range models {
			t0 := time.Now()
			runAll(b, m, calls, goroutines)
			spent[i] += time.Since(t0)
		}
	}
	tokens := float64(len(calls) * batch * seq * b.N)
	for i, name := range names {
		b.ReportMetric(tokens/spent[i].Seconds(), name+"_tokens/s")
		if i > 0 {
			b.ReportMetric(spent[0].Seconds()/spent[i].Seconds(), name+"/"+names[0])
		}
	}
}

// BenchmarkThreads: tokens/s of the tiny Llama, 8 calls of [32, 128] from
// one caller, ORT intra-op threads 1 vs 2.
func BenchmarkThreads(b *testing.B) {
	interleaved(b, 1, []string{"intra1", "intra2"},
		[]ort.Options{{IntraOpThreads: 1}, {IntraOpThreads: 2}})
}

// BenchmarkPool: two callers sharing a model (as two stage workers do),
// 8 calls of [32, 128]: two sessions of 1 thread each, one session with two
// run slots of 1 thread, and one session with one slot and 2 threads.
func BenchmarkPool(b *testing.B) {
	interleaved(b, 2, []string{"sessions2", "shared2slots", "shared1slot2threads"}, []ort.Options{
		{Sessions: 2, IntraOpThreads: 1},
		{Sessions: 1, Concurrency: 2, IntraOpThreads: 1},
		{Sessions: 1, Concurrency: 1, IntraOpThreads: 2},
	})
}
