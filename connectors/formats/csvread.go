package formats

import (
	"bytes"
	"context"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/objstore"
)

// ErrCSVHeader is wrapped by the error for a CSV object whose header row
// cannot be read (an empty object, or a header that does not parse).
var ErrCSVHeader = errors.New("csv: no readable header row (line 1)")

// csvDecoder iterates a CSV stream. An inferring reader learns its schema
// from the first batch, so that batch is read ahead at open time.
type csvDecoder struct {
	*csv.Reader
	body    io.ReadCloser
	peeked  bool // the first batch was read ahead and not yet returned
	hasNext bool // result of the read-ahead Next
}

func csvOptions(mem memory.Allocator, batch int64) []csv.Option {
	return []csv.Option{csv.WithHeader(true), csv.WithChunk(int(batch)), csv.WithAllocator(mem), csv.WithNullReader(true, "")}
}

func newCSVDecoder(body io.ReadCloser, schema *arrow.Schema, mem memory.Allocator, batch int64) (decoder, error) {
	opts := csvOptions(mem, batch)
	if schema != nil {
		return &csvDecoder{Reader: csv.NewReader(body, schema, opts...), body: body}, nil
	}
	// arrow/csv's inferring reader dereferences a nil builder (panics) when
	// the header is not followed by a readable data row, so read the
	// header and the first row here first and replay them.
	var seen bytes.Buffer
	peek := stdcsv.NewReader(io.TeeReader(body, &seen))
	peek.ReuseRecord = true
	header, err := peek.Read()
	if err != nil {
		body.Close()
		return nil, headerErr(err)
	}
	names := append([]string(nil), header...)
	if _, err := peek.Read(); err != nil {
		body.Close()
		if errors.Is(err, io.EOF) { // a header only: no rows, all columns strings
			fields := make([]arrow.Field, len(names))
			for i, n := range names {
				fields[i] = arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true}
			}
			return emptyDecoder{arrow.NewSchema(fields, nil)}, nil
		}
		return nil, fmt.Errorf("csv: %w", err)
	}
	replay := struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(seen.Bytes()), body), body}
	d := &csvDecoder{Reader: csv.NewInferringReader(replay, opts...), body: body, peeked: true}
	d.hasNext = d.Reader.Next()
	if err := d.Err(); err != nil && d.Reader.Schema() == nil {
		d.Close()
		return nil, err
	}
	// A later error in the first batch surfaces at Next, where Reader.Err
	// can locate it with the inferred schema.
	return d, nil
}

func (d *csvDecoder) Next() bool {
	if d.peeked {
		d.peeked = false
		return d.hasNext
	}
	return d.Reader.Next()
}

func (d *csvDecoder) Err() error {
	err := d.Reader.Err()
	switch {
	case err == nil:
		return nil
	case isHeaderErr(err):
		return headerErr(err)
	case errors.Is(err, io.EOF):
		return nil
	case errors.Is(err, csv.ErrMismatchFields):
		return fmt.Errorf("csv: header (line 1): %w", err)
	}
	return fmt.Errorf("csv: %w", err)
}

func (d *csvDecoder) Close() error {
	d.Reader.Release()
	return d.body.Close()
}

// emptyDecoder is a CSV object with a header and no rows.
type emptyDecoder struct{ schema *arrow.Schema }

func (e emptyDecoder) Schema() *arrow.Schema          { return e.schema }
func (e emptyDecoder) Next() bool                     { return false }
func (e emptyDecoder) RecordBatch() arrow.RecordBatch { return nil }
func (e emptyDecoder) Err() error                     { return nil }
func (e emptyDecoder) Close() error                   { return nil }

// headerErr builds the ErrCSVHeader error; an io.EOF cause is described,
// not wrapped, so that it is not mistaken for the end of the rows.
func headerErr(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the object is empty", ErrCSVHeader)
	}
	return fmt.Errorf("%w: %w", ErrCSVHeader, err)
}

func hasLine(err error) bool {
	var pe *stdcsv.ParseError
	return errors.As(err, &pe)
}

// isHeaderErr reports arrow/csv's "could not read header" error.
func isHeaderErr(err error) bool {
	return bytes.Contains([]byte(err.Error()), []byte("could not read header"))
}

// locateCSV finds the line and column of a value error (arrow/csv reports
// a cell that does not parse as its column's type without saying where):
// it reads key again, skips the rows before the failing batch and parses
// the batch's rows cell by cell with the same options. It returns err
// unchanged when err already names a line or the cell is not found.
func locateCSV(ctx context.Context, store objstore.Store, key string, schema *arrow.Schema, skip, batch int64, err error) error {
	if schema == nil || hasLine(err) || errors.Is(err, csv.ErrMismatchFields) || errors.Is(err, ErrCSVHeader) {
		return err
	}
	rc, gerr := store.Get(ctx, key, objstore.All)
	if gerr != nil {
		return err
	}
	defer rc.Close()
	r := stdcsv.NewReader(rc)
	if _, herr := r.Read(); herr != nil {
		return err
	}
	mem := memory.NewGoAllocator()
	for row := int64(0); row < skip+batch; row++ {
		rec, rerr := r.Read()
		if rerr != nil {
			return err
		}
		if row < skip {
			continue
		}
		for j, f := range schema.Fields() {
			if j >= len(rec) {
				break
			}
			if cerr := parseCell(mem, f, rec[j]); cerr != nil {
				line, _ := r.FieldPos(j)
				return fmt.Errorf("line %d (data row %d), column %q: %w", line, row+1, f.Name, err)
			}
		}
	}
	return err
}

// parseCell parses one value with arrow/csv as a one-column CSV.
func parseCell(mem memory.Allocator, f arrow.Field, cell string) error {
	var buf bytes.Buffer
	w := stdcsv.NewWriter(&buf)
	if err := w.Write([]string{cell}); err != nil {
		return err
	}
	w.Flush()
	r := csv.NewReader(&buf, arrow.NewSchema([]arrow.Field{f}, nil), csv.WithHeader(false), csv.WithChunk(1),
		csv.WithAllocator(mem), csv.WithNullReader(true, ""))
	defer r.Release()
	r.Next()
	if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
