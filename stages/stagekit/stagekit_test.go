package stagekit

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/medflow/medflow/connectors/objstore"
)

// fakeStore is a non-nil objstore.Store that is never called.
type fakeStore struct{ objstore.Store }

func TestDepsCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		deps Deps
		want string
	}{
		{"missing opener", Deps{}, "files: Deps.Open is nil"},
		{"opener", Deps{Open: func(context.Context, string) (objstore.Store, error) { return fakeStore{}, nil }}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := tc.deps.Check("files"); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStore(t *testing.T) {
	errDown := errors.New("down")
	for _, tc := range []struct {
		name      string
		failures  int // opens that fail before one succeeds
		gets      int
		wantOpens int
		wantErrs  int
	}{
		{"opens once", 0, 5, 1, 0},
		{"a failure is retried", 2, 5, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opens := 0
			s := NewStore(func(_ context.Context, uri string) (objstore.Store, error) {
				if uri != "s3://b/p" {
					t.Errorf("opened %q", uri)
				}
				opens++
				if opens <= tc.failures {
					return nil, errDown
				}
				return fakeStore{}, nil
			}, "s3://b/p")
			errs := 0
			for range tc.gets {
				st, err := s.Get(context.Background())
				switch {
				case errors.Is(err, errDown):
					errs++
				case err != nil || st == nil:
					t.Fatalf("Get: %v, %v", st, err)
				}
			}
			if opens != tc.wantOpens || errs != tc.wantErrs {
				t.Errorf("%d opens, %d errors; want %d, %d", opens, errs, tc.wantOpens, tc.wantErrs)
			}
		})
	}
}

func TestStoreConcurrent(t *testing.T) {
	var mu sync.Mutex
	opens := 0
	s := NewStore(func(context.Context, string) (objstore.Store, error) {
		mu.Lock()
		defer mu.Unlock()
		opens++
		return fakeStore{}, nil
	}, "x")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := s.Get(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if opens != 1 {
		t.Errorf("%d opens, want 1", opens)
	}
}
