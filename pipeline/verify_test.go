package pipeline

import (
	"errors"
	"math"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/objstore/objstoretest"
	"github.com/medflow/medflow/connectors/s3"
	"github.com/medflow/medflow/internal/s3test"
)

// verifyRun is one run of gen -> a -> b (both materialized) -> the
// consumer of b (collect, or count -> collect), against a dataset cache
// in store.
type verifyRun struct {
	plan      *Plan
	out       []int64 // what the final sink got
	planBytes int64   // bytes of a's entry read by Resolve
	runBytes  int64   // bytes of a's entry read by Execute
	err       error   // Execute's
}

func runVerify(t *testing.T, store *objstoretest.Counting, budget int64, consumer string) verifyRun {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := stage("a", "add", []string{"gen"}, map[string]any{"delta": 1})
	b := stage("b", "add", []string{"a"}, map[string]any{"delta": 2})
	a.Materialize, b.Materialize = true, true
	stages := []StageSpec{stage("gen", "gen", nil, map[string]any{"batches": 8, "rows": 500}), a, b}
	if consumer == "count" {
		stages = append(stages, stage("cnt", "count", []string{"b"}, nil), stage("out", "collect", []string{"cnt"}, nil))
	} else {
		stages = append(stages, stage("out", "collect", []string{"b"}, nil))
	}
	sinks := map[string]*collectSink{}
	plan, err := testRegistry(sinks).Plan(Spec{Variant: "v", Stages: stages}, PlanOptions{Alloc: mem, VerifyBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	store.Read("")
	if err := plan.Resolve(t.Context(), dataset.NewCache(store, "cache", mem), nil); err != nil {
		t.Fatal(err)
	}
	entryA := path.Join("cache", plan.Node("a").Fingerprint) + "/"
	r := verifyRun{plan: plan, planBytes: store.Read(entryA)}
	r.err = plan.NewRun(RunOptions{}).Execute(t.Context())
	r.runBytes = store.Read(entryA)
	if s := sinks["out"]; s != nil {
		r.out = s.xs
	}
	return r
}

// entryPart returns the key of the first part of stage name's cache entry,
// the size of the entry's manifest and of all its parts.
func entryPart(t *testing.T, store objstore.Store, p *Plan, name string) (part string, manifest, parts int64) {
	t.Helper()
	d, err := dataset.Open(t.Context(), store, path.Join("cache", p.Node(name).Fingerprint))
	if err != nil {
		t.Fatal(err)
	}
	info, err := store.Stat(t.Context(), path.Join("cache", p.Node(name).Fingerprint, dataset.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	return path.Join("cache", p.Node(name).Fingerprint, d.Manifest().Parts[0].Key), info.Size, d.Bytes()
}

// decodeBytes returns the bytes a read of fp's cache entry reads once its
// parts are checked (manifest included).
func decodeBytes(t *testing.T, store *objstoretest.Counting, fp string) int64 {
	t.Helper()
	c := dataset.NewCache(store, "cache", memory.DefaultAllocator)
	if ok, err := c.Verify(t.Context(), fp, math.MaxInt64); !ok || err != nil {
		t.Fatalf("verify %s: %v, %v", fp, ok, err)
	}
	store.Read("")
	if err := c.Read(t.Context(), fp, func(b arrow.RecordBatch) error { b.Release(); return nil }); err != nil {
		t.Fatal(err)
	}
	return store.Read("")
}

// damage flips a bit in the middle of key, or truncates it by one byte.
func damage(t *testing.T, store objstore.Store, key, how string) []byte {
	t.Helper()
	b, err := objstore.ReadAll(t.Context(), store, key)
	if err != nil {
		t.Fatal(err)
	}
	if how == "truncate" {
		b = b[:len(b)-1]
	} else {
		b[len(b)/2] ^= 0x10
	}
	if err := objstore.PutBytes(t.Context(), store, key, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func decisionsOf(p *Plan) []Decision {
	var out []Decision
	for _, n := range p.Nodes {
		out = append(out, n.Decision)
	}
	return out
}

// testStores returns constructors of fresh, empty object stores, by name:
// a local folder, and a prefix (named after the subtest) of a bucket on
// a versitygw S3 server started for t.
func testStores(t *testing.T) map[string]func(t *testing.T) objstore.Store {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "medflow")
	return map[string]func(t *testing.T) objstore.Store{
		"local": func(t *testing.T) objstore.Store {
			s, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"s3": func(t *testing.T) objstore.Store {
			s, err := s3.New(t.Context(), "medflow", strings.ReplaceAll(t.Name(), "/", "-"), s3.Options{
				Endpoint: srv.Endpoint(), Region: s3test.Region, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey,
				PathStyle: true, Secure: s3.Bool(false),
				Retry: s3.Retry{InitialBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Deadline: 30 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

// TestReusedEntryChecks damages one part of a reused cache entry between a
// cold run and a rerun, on a local folder and on S3:
//   - a flipped bit in b (read by the rerun) below the verify budget: b is
//     recomputed in the same run (from a, now reused);
//   - the same above the budget: the rerun fails naming b, the part and
//     ErrCorrupt, b's entry is dropped, and the run after recomputes b
//     and gives the cold run's output;
//   - a flipped bit in a, skipped (b is reused), whatever the budget: the
//     rerun succeeds, and reads nothing of a's entry but its manifest (the
//     damage is still there);
//   - a truncated part of b: damaged at plan time whatever the budget.
//
// When a is reused and read (b recomputed), it is verified at plan time
// and not again as the run reads it.
func TestReusedEntryChecks(t *testing.T) {
	stores := testStores(t)
	const (
		small  = 1 // bytes: every entry is above it
		always = math.MaxInt64
		never  = -1
	)
	recompute := []Decision{Skip, Reuse, Compute, Compute}
	for _, tc := range []struct {
		name, target, how string
		budget            int64
		consumer          string
		want              []Decision // the rerun's (gen, a, b, consumer)
		fails             bool
	}{
		{"flip below budget", "b", "flip", 0, "collect", recompute, false},
		{"flip below budget, barrier", "b", "flip", always, "count", recompute, false},
		{"flip above budget", "b", "flip", small, "collect", []Decision{Skip, Skip, Reuse, Compute}, true},
		{"flip above budget, barrier", "b", "flip", never, "count", []Decision{Skip, Skip, Reuse, Compute}, true},
		{"flip in skipped", "a", "flip", always, "collect", []Decision{Skip, Skip, Reuse, Compute}, false},
		{"flip in skipped, barrier", "a", "flip", 0, "count", []Decision{Skip, Skip, Reuse, Compute}, false},
		{"truncated, never verify", "b", "truncate", never, "collect", recompute, false},
		{"truncated, above budget", "b", "truncate", small, "count", recompute, false},
	} {
		for storeName, newStore := range stores {
			t.Run(tc.name+"/"+storeName, func(t *testing.T) {
				store := objstoretest.NewCounting(newStore(t))
				cold := runVerify(t, store, tc.budget, tc.consumer)
				if cold.err != nil {
					t.Fatal(cold.err)
				}
				_, manifestA, partsA := entryPart(t, store, cold.plan, "a")
				part, _, _ := entryPart(t, store, cold.plan, tc.target)
				damaged := damage(t, store, part, tc.how)

				rerun := runVerify(t, store, tc.budget, tc.consumer)
				want := tc.want
				if tc.consumer == "count" {
					want = append(slices.Clone(want), Compute) // cnt, then out
				}
				if got := decisionsOf(rerun.plan); !slices.Equal(got, want) {
					t.Fatalf("rerun decisions %v, want %v", got, want)
				}
				if !tc.fails {
					if rerun.err != nil {
						t.Fatalf("rerun: %v", rerun.err)
					}
					if !slices.Equal(rerun.out, cold.out) {
						t.Fatal("rerun output differs from the cold run's")
					}
				} else {
					err := rerun.err
					if !errors.Is(err, dataset.ErrCorrupt) || !strings.Contains(err.Error(), part) || !strings.Contains(err.Error(), `"b"`) {
						t.Fatalf("rerun: %v, want ErrCorrupt naming stage b and %s", err, part)
					}
					if _, err := store.Stat(t.Context(), path.Dir(part)+"/"+dataset.ManifestName); !errors.Is(err, objstore.ErrNotFound) {
						t.Fatalf("the damaged entry is still committed: %v", err)
					}
					third := runVerify(t, store, tc.budget, tc.consumer)
					if third.err != nil || third.plan.Node("b").Decision != Compute || !slices.Equal(third.out, cold.out) {
						t.Fatalf("the run after: %v, b %v, same output as cold: %v", third.err, third.plan.Node("b").Decision, slices.Equal(third.out, cold.out))
					}
				}
				if want[1] == Reuse {
					// a is read by b: its parts are read back once, at plan
					// time when the budget allows, else as the run reads
					// them; decoding reads what a checked read of a's
					// checked parts reads.
					atPlan := tc.budget == 0 || tc.budget == always
					// (Has, then Verify, each read the manifest.)
					wantPlan, wantRun := 2*manifestA+partsA, decodeBytes(t, store, cold.plan.Node("a").Fingerprint)
					if !atPlan {
						wantPlan, wantRun = rerun.planBytes, wantRun+partsA
					}
					if rerun.planBytes != wantPlan || rerun.runBytes != wantRun {
						t.Fatalf("reused a (parts: %d bytes): read %d bytes at plan time, want %d; %d in the run, want %d", partsA, rerun.planBytes, wantPlan, rerun.runBytes, wantRun)
					}
				}
				if tc.target == "a" {
					if rerun.planBytes != manifestA || rerun.runBytes != 0 {
						t.Fatalf("skipped entry: read %d bytes at plan time (manifest: %d), %d in the run", rerun.planBytes, manifestA, rerun.runBytes)
					}
					got, err := objstore.ReadAll(t.Context(), store, part)
					if err != nil || !slices.Equal(got, damaged) {
						t.Fatalf("the skipped entry's damaged part was touched: %v", err)
					}
					t.Logf("skipped entry: %d bytes read at plan time (its manifest)", rerun.planBytes)
				}
			})
		}
	}
}
