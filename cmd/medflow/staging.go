package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
)

// StagingPrefix is the folder of a local work store where writers stage
// the parts they are encoding.
const StagingPrefix = "staging"

// cleanStaging keeps the files writers stage inside a local work store
// (<work>/staging; the system temp folder otherwise) and removes the
// staging files that runs killed mid-write left there, in the system temp
// folder and, as temporary objects, anywhere in the work store. Files of
// live writers are locked and left alone (connectors/internal/stale).
func (a *app) cleanStaging(ctx context.Context, store objstore.Store) {
	staging := "" // the system temp folder
	if ls, ok := store.(*local.Store); ok {
		staging = filepath.Join(ls.Dir(), StagingPrefix)
	}
	formats.SetStagingDir(staging)
	dirs := []string{formats.StagingDir()}
	if tmp := os.TempDir(); tmp != dirs[0] {
		dirs = append(dirs, tmp)
	}
	for _, dir := range dirs {
		removed, err := formats.RemoveStaleStaging(dir)
		for _, p := range removed {
			a.log.Info("removed a staging file left by a killed run", "file", p)
		}
		if err != nil {
			a.log.Warn("cleaning staging files", "folder", dir, "err", err)
		}
	}
	if r, ok := store.(objstore.StaleRemover); ok {
		removed, err := r.RemoveStale(ctx, "")
		for _, k := range removed {
			a.log.Info("removed a temporary object left by a killed run", "store", store.String(), "key", k)
		}
		if err != nil {
			a.log.Warn("cleaning temporary objects", "store", store.String(), "err", err)
		}
	}
}
