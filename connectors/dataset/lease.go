package dataset

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/medflow/medflow/connectors/internal/stale"
	"github.com/medflow/medflow/connectors/objstore"
)

// LeaseName is the base name of the lease object a writer holds under
// the prefix it writes (a dataset, a cache entry) until it commits or
// gives up.
const LeaseName = "_lease.json"

// ErrLeased: another writer holds the prefix's lease.
var ErrLeased = errors.New("being written by another writer")

// ErrLeaseLost: the writer's lease was taken over (it stopped renewing it
// for longer than LeaseTTL), so it must not commit.
var ErrLeaseLost = errors.New("lease lost to another writer")

// LeaseTTL is how long a lease lasts without renewal before another
// writer may take it over; holders renew it every LeaseTTL/6. Clocks of
// the machines sharing a store must agree to well within it.
var LeaseTTL = 60 * time.Second

// LeaseInfo is the content of a lease object.
type LeaseInfo struct {
	Owner     string    `json:"owner"` // host/pid/random token
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Acquired  time.Time `json:"acquired"`
	Heartbeat time.Time `json:"heartbeat"`
}

func (i LeaseInfo) String() string {
	return fmt.Sprintf("pid %d on %s (since %s, renewed %s ago)", i.PID, i.Host,
		i.Acquired.Format(time.RFC3339), time.Since(i.Heartbeat).Round(time.Second))
}

// leases are the leases this process holds now, by token, with the
// context of their holder: a lease of this process that is not here, or
// whose holder's context has ended, is over, whatever its heartbeat says.
var leases struct {
	mu   sync.Mutex
	held map[string]context.Context
}

// Live reports whether the lease still excludes other writers: renewed
// within LeaseTTL, by a process that still exists (checked when it runs
// on this machine) and, for this process, not released.
func (i LeaseInfo) Live() bool {
	if time.Since(i.Heartbeat) > LeaseTTL {
		return false
	}
	host, _ := os.Hostname()
	if i.Host != host {
		return true
	}
	if i.PID == os.Getpid() {
		leases.mu.Lock()
		defer leases.mu.Unlock()
		ctx, ok := leases.held[i.Owner]
		return ok && ctx.Err() == nil
	}
	return stale.Alive(i.PID)
}

// Lease is a held lease. Release it when done.
type Lease struct {
	ctx   context.Context // the holder's
	store objstore.ConditionalPutter
	s     objstore.Store
	key   string
	info  LeaseInfo
	mu    sync.Mutex
	etag  string
	lost  error
	stop  chan struct{}
	done  chan struct{}
}

// ReadLease returns the lease under prefix; ok is false when there is
// none.
func ReadLease(ctx context.Context, store objstore.Store, prefix string) (info LeaseInfo, etag string, ok bool, err error) {
	key := join(prefix, LeaseName)
	st, err := store.Stat(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return LeaseInfo{}, "", false, nil
	}
	if err != nil {
		return LeaseInfo{}, "", false, err
	}
	b, err := objstore.ReadAll(ctx, store, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return LeaseInfo{}, "", false, nil
	}
	if err != nil {
		return LeaseInfo{}, "", false, err
	}
	if json.Unmarshal(b, &info) != nil {
		info = LeaseInfo{} // unreadable: stale (zero heartbeat)
	}
	return info, st.ETag, true, nil
}

// AcquireLease takes the lease of prefix for writing, taking over a stale
// one, and renews it until Release or until ctx ends. It fails fast, with
// an error wrapping ErrLeased naming the holder, when another writer holds
// it. On stores without conditional Puts it returns a lease that excludes
// nobody (see README, Reliability).
func AcquireLease(ctx context.Context, store objstore.Store, prefix string) (*Lease, error) {
	cp, ok := store.(objstore.ConditionalPutter)
	if !ok {
		return nil, nil
	}
	host, _ := os.Hostname()
	var tok [6]byte
	_, _ = rand.Read(tok[:])
	now := time.Now().UTC()
	l := &Lease{ctx: ctx, store: cp, s: store, key: join(prefix, LeaseName),
		info: LeaseInfo{Owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(tok[:])), Host: host, PID: os.Getpid(), Acquired: now, Heartbeat: now}}
	leases.mu.Lock()
	if leases.held == nil {
		leases.held = map[string]context.Context{}
	}
	leases.held[l.info.Owner] = ctx
	leases.mu.Unlock()
	var err error
	for attempt := 0; ; attempt++ {
		cur, etag, exists, rerr := ReadLease(ctx, store, prefix)
		if err = rerr; err == nil && exists && cur.Live() {
			err = objstore.Errorf("lease", store, l.key, fmt.Errorf("%w: %s", ErrLeased, cur))
		}
		if err != nil {
			break
		}
		// Absent: create it; stale: replace exactly the stale one. The
		// lease may change in between (its holder releasing it, another
		// writer taking it): look again.
		if l.etag, err = cp.PutIf(ctx, l.key, l.body(), etag); !errors.Is(err, objstore.ErrPrecondition) {
			break
		}
		if attempt == 2 {
			err = objstore.Errorf("lease", store, l.key, fmt.Errorf("%w: taken by another writer just now", ErrLeased))
			break
		}
	}
	if err != nil {
		l.forget()
		return nil, err
	}
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.renew(ctx)
	return l, nil
}

func (l *Lease) body() []byte {
	b, _ := json.Marshal(l.info)
	return b
}

func (l *Lease) forget() {
	leases.mu.Lock()
	delete(leases.held, l.info.Owner)
	leases.mu.Unlock()
}

// renew rewrites the lease (if it is still ours) every LeaseTTL/6; it
// releases the lease when ctx ends.
func (l *Lease) renew(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(LeaseTTL / 6)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			l.release()
			return
		case <-t.C:
			if err := l.touch(ctx); err != nil && errors.Is(err, objstore.ErrPrecondition) {
				return
			}
		}
	}
}

// touch renews the lease; a lease found changed is lost for good.
func (l *Lease) touch(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	l.info.Heartbeat = time.Now().UTC()
	etag, err := l.store.PutIf(ctx, l.key, l.body(), l.etag)
	if errors.Is(err, objstore.ErrPrecondition) {
		l.lost = objstore.Errorf("lease", l.s, l.key, ErrLeaseLost)
		return l.lost
	}
	if err == nil {
		l.etag = etag
	}
	return err
}

// Check renews the lease now and reports whether it is still held: call
// it just before committing.
func (l *Lease) Check(ctx context.Context) error {
	if l == nil {
		return nil
	}
	if err := l.touch(ctx); err != nil {
		return err
	}
	return nil
}

// Release stops renewing and deletes the lease if it is still ours. A nil
// Lease is fine.
func (l *Lease) Release() {
	if l == nil {
		return
	}
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	l.release()
}

// release gives the lease up. While its holder's context lives, the lease
// is live and nobody else can take it: it is deleted. Once that context
// has ended, another writer may already have taken it over, so it is only
// marked expired, with a conditional put that fails if it changed.
func (l *Lease) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = objstore.Errorf("lease", l.s, l.key, errors.New("released"))
		ctx := context.WithoutCancel(l.ctx)
		if l.ctx.Err() == nil {
			if cur, etag, ok, err := ReadLease(ctx, l.s, pathDir(l.key)); err == nil && ok && cur.Owner == l.info.Owner && etag == l.etag {
				_ = l.s.Delete(ctx, l.key)
			}
		} else {
			l.info.Heartbeat = time.Time{}
			_, _ = l.store.PutIf(ctx, l.key, l.body(), l.etag)
		}
	}
	l.forget()
}

// pathDir is the prefix a lease key lives under ("" for the store root).
func pathDir(key string) string {
	if key == LeaseName {
		return ""
	}
	return key[:len(key)-len(LeaseName)-1]
}
