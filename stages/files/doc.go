// Package files holds the stages that read and write files on an object
// store (a local folder or s3://bucket/prefix):
//
//   - files.read (source): every object under uri matching pattern, in key
//     order, as CSV, Parquet or Arrow IPC; the schema is declared with
//     columns so plans are checked without I/O, and each file's actual
//     schema is checked against it at read time. Files are the shard unit
//     (file i belongs to shard i mod n). With on_error: quarantine, a file
//     that cannot be read is quarantined (key and reason) and the run goes
//     on; with fail (default) the run stops naming the file.
//   - files.write (sink): a dataset of parts plus a manifest committed last
//     (connectors/dataset), so readers never see half an output. With
//     overwrite (the default) the old manifest is removed when writing
//     starts, so a failed run leaves no committed dataset rather than a
//     stale one. In a sharded run (--shard i/n) each shard commits under
//     uri/_shards/i-of-n/, and `medflow merge` commits the whole
//     (MergeShards) without copying.
//
// Not implemented: per-row quarantine inside a malformed CSV (the whole
// file is quarantined), schema inference at plan time.
package files
