package dataset

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/medflow/medflow/connectors/objstore"
)

// Artifacts is one stage's artifact store in a work store: its files live
// under prefix/<fingerprint>/. It satisfies pipeline.Artifacts.
type Artifacts struct {
	store  objstore.Store
	prefix string
}

// NewArtifacts returns the artifact store of the stage with fingerprint fp.
func NewArtifacts(store objstore.Store, prefix, fp string) *Artifacts {
	return &Artifacts{store: store, prefix: path.Join(prefix, fp)}
}

func (a *Artifacts) key(name string) (string, error) {
	k := path.Join(a.prefix, name)
	if name == "" || path.IsAbs(name) || path.Clean(name) != name || !strings.HasPrefix(k, a.prefix+"/") {
		return "", fmt.Errorf("artifact name %q: must be a clean relative key inside the stage's folder", name)
	}
	return k, objstore.ValidateKey(k)
}

func (a *Artifacts) Put(ctx context.Context, name string, data []byte) error {
	k, err := a.key(name)
	if err != nil {
		return err
	}
	return objstore.PutBytes(ctx, a.store, k, data)
}

func (a *Artifacts) Get(ctx context.Context, name string) ([]byte, error) {
	k, err := a.key(name)
	if err != nil {
		return nil, err
	}
	b, err := objstore.ReadAll(ctx, a.store, k)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("artifact %q: %w", name, fs.ErrNotExist)
	}
	return b, err
}

func (a *Artifacts) List(ctx context.Context) ([]string, error) {
	infos, err := a.store.List(ctx, a.prefix+"/")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, info := range infos {
		if objstore.IsTemp(info.Key) {
			continue
		}
		names = append(names, strings.TrimPrefix(info.Key, a.prefix+"/"))
	}
	slices.Sort(names)
	return names, nil
}

func (a *Artifacts) Delete(ctx context.Context, name string) error {
	k, err := a.key(name)
	if err != nil {
		return err
	}
	return a.store.Delete(ctx, k)
}
