package main

import (
	"cmp"
	"context"
	"path"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
)

// sortQuarantine orders q by stage (in plan order), key and reason, so
// that the table and the listing do not depend on worker timing.
func sortQuarantine(plan *pipeline.Plan, q []pipeline.QuarantineEntry) []pipeline.QuarantineEntry {
	order := map[string]int{}
	for i, n := range plan.Nodes {
		order[n.Spec.Name] = i
	}
	q = slices.Clone(q)
	slices.SortStableFunc(q, func(a, b pipeline.QuarantineEntry) int {
		return cmp.Or(cmp.Compare(order[a.Stage], order[b.Stage]), strings.Compare(a.Key, b.Key), strings.Compare(a.Reason, b.Reason))
	})
	return q
}

// quarantineExists reports whether variant has a committed quarantine
// table.
func quarantineExists(ctx context.Context, store objstore.Store, variant string) bool {
	_, err := store.Stat(ctx, path.Join(variant, "quarantine", dataset.ManifestName))
	return err == nil
}

// writeQuarantine commits the run's quarantined records as a dataset
// (schemas.Quarantine) under <work>/<variant>/quarantine and returns its
// URI.
func (a *app) writeQuarantine(ctx context.Context, store objstore.Store, variant string, q []pipeline.QuarantineEntry) (string, error) {
	prefix := path.Join(variant, "quarantine")
	mem := memory.DefaultAllocator
	w, err := dataset.NewWriter(ctx, store, prefix, schemas.Quarantine, mem, dataset.WriterOptions{Overwrite: true})
	if err != nil {
		return "", err
	}
	b := array.NewRecordBuilder(mem, schemas.Quarantine)
	defer b.Release()
	for _, e := range q {
		b.Field(0).(*array.StringBuilder).Append(e.Stage)
		b.Field(1).(*array.StringBuilder).Append(e.Key)
		b.Field(2).(*array.StringBuilder).Append(e.Reason)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := w.Write(rec); err != nil {
		w.Abort()
		return "", err
	}
	if _, err := w.Commit(); err != nil {
		return "", err
	}
	return store.String() + "/" + prefix, nil
}
