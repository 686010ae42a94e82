package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/cobra"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/schemas"
)

func (a *app) inspectCmd() *cobra.Command {
	var rows int
	cmd := &cobra.Command{
		Use:   "inspect PATH",
		Short: "Print the schema, metadata and first rows of a dataset folder or an Arrow/Parquet/CSV file",
		Long: "PATH is a committed dataset (a folder or s3:// prefix holding _manifest.json) or one\n" +
			"file: .arrow (IPC), .parquet or .csv, local or s3://bucket/key.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.loadOptional(cmd); err != nil {
				return err
			}
			return a.inspect(cmd.Context(), args[0], rows)
		},
	}
	cmd.Flags().IntVar(&rows, "rows", 10, "rows to print")
	return cmd
}

func (a *app) inspect(ctx context.Context, target string, rows int) error {
	mem := memory.DefaultAllocator
	dir, file := path.Split(strings.TrimSuffix(target, "/"))
	if format, err := formats.FormatOf(file); err == nil { // one file
		store, err := connectors.Open(ctx, strings.TrimSuffix(dir, "/"), a.storeOptions())
		if err != nil {
			return err
		}
		r, err := formats.NewReader(ctx, store, file, format, mem, formats.ReaderOptions{})
		if err != nil {
			return err
		}
		defer r.Release()
		fmt.Fprintf(a.stdout, "file %s/%s (%s)\n", store, file, format)
		return a.printRows(r.Schema(), r, rows)
	}
	store, err := connectors.Open(ctx, target, a.storeOptions())
	if err != nil {
		return err
	}
	d, err := dataset.Open(ctx, store, "")
	if err != nil {
		return fmt.Errorf("inspect %s: neither a committed dataset nor a .arrow/.parquet/.csv file: %w", target, err)
	}
	m := d.Manifest()
	fmt.Fprintf(a.stdout, "dataset %s: %d rows in %d %s parts, committed %s", store, m.Rows, len(m.Parts), m.Format, m.Created.Format("2006-01-02T15:04:05Z"))
	if m.Producer != "" {
		fmt.Fprintf(a.stdout, ", producer %s", m.Producer)
	}
	fmt.Fprintln(a.stdout)
	r := d.NewReader(ctx, mem, formats.ReaderOptions{})
	defer r.Release()
	return a.printRows(d.Schema(), r, rows)
}

// printRows prints the schema, its metadata and the first n rows.
func (a *app) printRows(s *arrow.Schema, r array.RecordReader, n int) error {
	fmt.Fprintf(a.stdout, "schema: %s\n", schemas.String(s))
	if md := s.Metadata(); md.Len() > 0 {
		for i, k := range md.Keys() {
			fmt.Fprintf(a.stdout, "metadata %s: %s\n", k, md.Values()[i])
		}
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	header := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		header[i] = f.Name
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	printed := 0
	for printed < n && r.Next() {
		b := r.RecordBatch()
		for row := 0; row < int(b.NumRows()) && printed < n; row++ {
			cells := make([]string, b.NumCols())
			for c, col := range b.Columns() {
				cells[c] = cell(schemas.Value(col, row))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
			printed++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// cell renders a value for the table: long lists and strings are cut.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case []any:
		parts := make([]string, 0, 6)
		for i, e := range x {
			if i == 5 {
				parts = append(parts, fmt.Sprintf("... (%d)", len(x)))
				break
			}
			parts = append(parts, cell(e))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	s := strings.ReplaceAll(fmt.Sprint(v), "\n", "⏎")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
