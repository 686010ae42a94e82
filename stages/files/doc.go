// Package files holds the stages that read and write files on an object
// store (a local folder or s3://bucket/prefix):
//
//   - files.read (source): every object under uri matching pattern, in key
//     order, as CSV, Parquet or Arrow IPC; the schema is declared with
//     columns so plans are checked without I/O, and each file's actual
//     schema is checked against it at read time. Files are the shard unit
//     (file i belongs to shard i mod n). With on_error: quarantine, a file
//     that cannot be read is quarantined (key and reason) and the run goes
//     on; with fail (default) the run stops naming the file. A folder
//     holding a _manifest.json is read as that committed dataset: exactly
//     its parts, in order (pattern and format do not apply), each checked
//     against its checksum; a part that changed since its commit fails the
//     run naming it, whatever on_error says. Dataset parts (part-*) in a
//     folder without a manifest are refused as not committed, naming the
//     folder, unless allow_uncommitted: true. Each object is checked
//     after it is read against the listing the stage fingerprint was taken
//     from (size and ETag or modification time): one rewritten during the
//     run fails it naming the object (objstore.ErrChanged).
//   - files.write (sink): a dataset of parts plus a manifest committed last
//     (connectors/dataset), so readers never see half an output. With
//     overwrite (the default) the dataset committed before stays readable
//     until the new manifest replaces it; a failed run leaves it as it
//     was. In a sharded run (--shard i/n) each shard commits under
//     uri/_shards/i-of-n/, and `medflow merge` commits the whole
//     (MergeShards) without copying.
//
// Not implemented: per-row quarantine inside a malformed CSV (the whole
// file is quarantined), schema inference at plan time.
package files
