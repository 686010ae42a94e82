package main

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/cobra"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/report"
)

// ReportsPrefix is where reports go in the work store: reports/<run-id>/.
const ReportsPrefix = "reports"

func (a *app) reportCmd() *cobra.Command {
	var (
		out  string
		rows int
	)
	cmd := &cobra.Command{
		Use:   "report RUN",
		Short: "Rebuild the report (report.md, report.html, plots) of a recorded run and print its metric tables",
		Long: "RUN is a run id or a unique prefix of one (see medflow runs). The report goes to --out\n" +
			"(a folder or s3:// prefix), by default to reports/<run-id>/ in the work store.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			store, err := a.loadWork(cmd)
			if err != nil {
				return err
			}
			rec, err := runrecord.Read(ctx, store, args[0])
			if err != nil {
				return err
			}
			r, err := buildReport(ctx, store, rec)
			if err != nil {
				return err
			}
			defer r.Release()
			dest, prefix := store, path.Join(ReportsPrefix, rec.ID)
			if out != "" {
				if dest, err = connectors.Open(ctx, out, a.storeOptions()); err != nil {
					return err
				}
				prefix = ""
			}
			paths, err := saveReport(ctx, r, dest, prefix)
			if err != nil {
				return err
			}
			for _, t := range r.Tables {
				fmt.Fprintf(a.stdout, "\n%s (%s): %s\n", t.Stage, t.Kind, t.Name)
				rdr, err := array.NewRecordReader(t.Record.Schema(), []arrow.RecordBatch{t.Record})
				if err != nil {
					return err
				}
				// the rules in the schema metadata are in the report
				err = a.printRows(arrow.NewSchema(t.Record.Schema().Fields(), nil), rdr, rows)
				rdr.Release()
				if err != nil {
					return err
				}
			}
			for _, n := range r.Notes {
				fmt.Fprintf(a.stdout, "note: %s\n", n)
			}
			fmt.Fprintln(a.stdout)
			for _, p := range paths[:2] {
				fmt.Fprintf(a.stdout, "wrote %s\n", p)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder or s3:// prefix for the report (default: reports/<run-id> in the work store)")
	cmd.Flags().IntVar(&rows, "rows", 20, "rows to print per metric table")
	return cmd
}

// writeReport builds the report of rec from the work store and writes it
// under reports/<run-id>/ there; it returns the URIs written, report.md
// and report.html first. `medflow run` calls it after a successful run.
func writeReport(ctx context.Context, store objstore.Store, rec runrecord.Record) ([]string, error) {
	r, err := buildReport(ctx, store, rec)
	if err != nil {
		return nil, err
	}
	defer r.Release()
	return saveReport(ctx, r, store, path.Join(ReportsPrefix, rec.ID))
}

// buildReport reads the artifacts of rec's stages and the per-stage
// quarantine counts from the work store.
func buildReport(ctx context.Context, store objstore.Store, rec runrecord.Record) (*report.Report, error) {
	r, err := report.Build(ctx, report.Input{Record: rec, Quarantine: quarantineCounts(rec),
		Artifacts: func(fp string) pipeline.Artifacts { return dataset.NewArtifacts(store, ArtifactsPrefix, fp) }},
		memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("report of run %s: %w", rec.ID, err)
	}
	return r, nil
}

// saveReport writes the report's files under prefix of dest: report.md and
// report.html first in the returned URIs, then the plots.
func saveReport(ctx context.Context, r *report.Report, dest objstore.Store, prefix string) ([]string, error) {
	files := r.Files()
	names := []string{report.MarkdownFile, report.HTMLFile}
	for _, n := range slices.Sorted(maps.Keys(files)) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	// plots first, so report.md never refers to a missing file
	order := append(slices.Clone(names[2:]), names[:2]...)
	for _, n := range order {
		if err := objstore.PutBytes(ctx, dest, path.Join(prefix, n), files[n]); err != nil {
			return nil, fmt.Errorf("report of run %s: %w", r.Run.ID, err)
		}
	}
	uris := make([]string, len(names))
	for i, n := range names {
		uris[i] = dest.String() + "/" + path.Join(prefix, n)
	}
	return uris, nil
}

// quarantineCounts returns the quarantined records per stage, from the
// run record.
func quarantineCounts(rec runrecord.Record) map[string]int {
	counts := map[string]int{}
	for _, s := range rec.Stages {
		if s.Quarantined > 0 {
			counts[s.Name] = s.Quarantined
		}
	}
	return counts
}
