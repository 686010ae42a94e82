// Package formats reads and writes Arrow record batches as objects of an
// objstore.Store: Arrow IPC file format (".arrow"), Parquet (".parquet",
// through parquet/pqarrow) and CSV (".csv", through arrow/csv).
//
// Writers stream into a local temporary file (memory stays bounded by one
// batch) and Put it to the store on Close, so an object is atomic: it
// appears complete or not at all. Abort removes the temporary file without
// writing anything. Parquet writers write one row group per Write call and
// store the Arrow schema in the file metadata; readers re-label batches with
// it, so the schema (types, nested field names, metadata) round-trips
// exactly.
//
// Readers implement array.RecordReader. Parquet and IPC need random access:
// they read through objstore.ReaderAt (ranged Gets; on S3 each one is a
// resumable ranged GET). CSV is read as one stream, with a header, either
// against a given schema or with simple type inference.
//
// Every allocation goes through the caller's memory.Allocator; errors name
// the store URI and key, and the batch index where known. CSV errors also
// name the line: a malformed row as encoding/csv reports it, a value that
// does not parse as its column's type as "line L (data row N), column C"
// (found by reading the failing batch's rows again, on the error path
// only), and an empty object or unreadable header as ErrCSVHeader. A CSV
// with a header and no rows read with inference gives string columns and
// no batches.
//
// Encode and DecodeIPC do the same in memory for small tables that go to a
// stage's artifacts (metric tables, training curves, checkpoints):
// DecodeIPC reads an IPC file or stream into one record.
//
// Not implemented: CSV without a header row, Parquet column projection and
// row-group filtering (read everything), IPC stream format for objects, JSON, and
// reading compressed CSV.
package formats
