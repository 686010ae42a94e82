package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"

	"github.com/medflow/medflow/connectors/objstore"
)

// Artifacts is one stage's artifact store in a work store: its files live
// under prefix/<fingerprint>/. It satisfies pipeline.Artifacts.
//
// Each artifact NAME is committed by a sidecar NAME.xxh3 holding its size
// and checksum, put after the artifact (and deleted before it is
// replaced): an artifact without a sidecar (a writer died in between) is
// not listed and reads as absent. Get checks the content against the
// sidecar; one that differs is logged as a warning naming it, deleted,
// and reported absent (wrapping fs.ErrNotExist and ErrCorrupt), so that
// the stage recomputes it (a trainer resumes from an earlier checkpoint).
type Artifacts struct {
	store  objstore.Store
	prefix string
	log    *slog.Logger
}

// sumSuffix ends the name of an artifact's checksum sidecar.
const sumSuffix = ".xxh3"

// artifactSum is the content of a sidecar.
type artifactSum struct {
	Size     int64  `json:"size"`
	Checksum string `json:"checksum"`
}

// NewArtifacts returns the artifact store of the stage with fingerprint
// fp. It logs to slog.Default until WithLogger.
func NewArtifacts(store objstore.Store, prefix, fp string) *Artifacts {
	return &Artifacts{store: store, prefix: path.Join(prefix, fp), log: slog.Default()}
}

// WithLogger sets where damaged artifacts are reported, and returns a.
func (a *Artifacts) WithLogger(l *slog.Logger) *Artifacts {
	a.log = l
	return a
}

func (a *Artifacts) key(name string) (string, error) {
	k := path.Join(a.prefix, name)
	if name == "" || path.IsAbs(name) || path.Clean(name) != name || !strings.HasPrefix(k, a.prefix+"/") || strings.HasSuffix(name, sumSuffix) {
		return "", fmt.Errorf("artifact name %q: must be a clean relative key inside the stage's folder, not ending in %s", name, sumSuffix)
	}
	return k, objstore.ValidateKey(k)
}

func (a *Artifacts) Put(ctx context.Context, name string, data []byte) error {
	k, err := a.key(name)
	if err != nil {
		return err
	}
	if err := a.store.Delete(ctx, k+sumSuffix); err != nil {
		return err
	}
	if err := objstore.PutBytes(ctx, a.store, k, data); err != nil {
		return err
	}
	sum, err := json.Marshal(artifactSum{Size: int64(len(data)), Checksum: objstore.ChecksumBytes(data)})
	if err != nil {
		return err
	}
	return objstore.PutBytes(ctx, a.store, k+sumSuffix, sum)
}

func (a *Artifacts) Get(ctx context.Context, name string) ([]byte, error) {
	k, err := a.key(name)
	if err != nil {
		return nil, err
	}
	notExist := func() ([]byte, error) { return nil, fmt.Errorf("artifact %q: %w", name, fs.ErrNotExist) }
	sb, err := objstore.ReadAll(ctx, a.store, k+sumSuffix)
	if errors.Is(err, objstore.ErrNotFound) {
		return notExist() // never committed, or its writer died before the sidecar
	}
	if err != nil {
		return nil, err
	}
	b, err := objstore.ReadAll(ctx, a.store, k)
	if errors.Is(err, objstore.ErrNotFound) {
		return notExist()
	}
	if err != nil {
		return nil, err
	}
	var sum artifactSum
	if err = json.Unmarshal(sb, &sum); err != nil {
		err = objstore.Errorf("verify", a.store, k+sumSuffix, fmt.Errorf("%w: bad checksum sidecar: %v", ErrCorrupt, err))
	} else {
		err = objstore.Check(a.store, k, int64(len(b)), objstore.ChecksumBytes(b), sum.Size, sum.Checksum)
	}
	if err != nil {
		a.log.Warn("artifact is damaged: deleting it, it will be recomputed", "artifact", name, "err", err)
		if derr := a.Delete(ctx, name); derr != nil {
			return nil, errors.Join(err, derr)
		}
		return nil, fmt.Errorf("artifact %q: %w (%w)", name, fs.ErrNotExist, err)
	}
	return b, nil
}

// List returns the committed artifacts (those with a sidecar), sorted.
func (a *Artifacts) List(ctx context.Context) ([]string, error) {
	infos, err := a.store.List(ctx, a.prefix+"/")
	if err != nil {
		return nil, err
	}
	committed := map[string]bool{}
	for _, info := range infos {
		if name, ok := strings.CutSuffix(info.Key, sumSuffix); ok {
			committed[name] = true
		}
	}
	var names []string
	for _, info := range infos {
		if objstore.IsTemp(info.Key) || !committed[info.Key] {
			continue
		}
		names = append(names, strings.TrimPrefix(info.Key, a.prefix+"/"))
	}
	slices.Sort(names)
	return names, nil
}

// Delete uncommits name (sidecar first), then deletes it.
func (a *Artifacts) Delete(ctx context.Context, name string) error {
	k, err := a.key(name)
	if err != nil {
		return err
	}
	if err := a.store.Delete(ctx, k+sumSuffix); err != nil {
		return err
	}
	return a.store.Delete(ctx, k)
}
