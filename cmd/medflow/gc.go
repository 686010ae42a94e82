package main

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/internal/runrecord"
)

func (a *app) gcCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "gc [--dry-run]",
		Short: "Delete materialized outputs under <work>/cache that no run record references (and no run is writing)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			store, err := a.loadWork(cmd)
			if err != nil {
				return err
			}
			recs, err := runrecord.List(ctx, store)
			if err != nil {
				return err
			}
			keep := map[string]bool{}
			for _, r := range recs {
				for _, s := range r.Stages {
					keep[s.Fingerprint] = true
				}
			}
			objs, err := store.List(ctx, "cache/")
			if err != nil {
				return err
			}
			cached := map[string][]string{} // fingerprint -> keys
			for _, o := range objs {
				fp, _, _ := strings.Cut(strings.TrimPrefix(o.Key, "cache/"), "/")
				cached[fp] = append(cached[fp], o.Key)
			}
			var fps []string // unreferenced
			for fp := range cached {
				if !keep[fp] {
					fps = append(fps, fp)
				}
			}
			sort.Strings(fps)
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			for _, fp := range fps {
				// An entry a run is writing now has a live lease: leave it.
				if lease, _, ok, err := dataset.ReadLease(ctx, store, path.Join(CachePrefix, fp)); err != nil {
					return err
				} else if ok && lease.Live() {
					fmt.Fprintf(a.stdout, "skipped %s (being written by %s)\n", path.Join(store.String(), "cache", fp), lease)
					continue
				}
				keys := cached[fp]
				sort.Strings(keys) // "_manifest.json" sorts before "part-*": uncommit first, then delete the parts
				if !dryRun {
					for _, k := range keys {
						if err := store.Delete(ctx, k); err != nil {
							return err
						}
					}
				}
				fmt.Fprintf(a.stdout, "%s %s (%d objects)\n", verb, path.Join(store.String(), "cache", fp), len(keys))
			}
			fmt.Fprintf(a.stdout, "%d of %d cached outputs unreferenced by %d run records\n", len(fps), len(cached), len(recs))
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only list what would be deleted")
	return cmd
}
