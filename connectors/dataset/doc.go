// Package dataset stores a table as numbered part objects plus a manifest
// committed last, so that readers never see half a dataset.
//
// Layout under a prefix:
//
//	prefix/part-00000.parquet   (or .arrow), each written atomically
//	prefix/part-00001.parquet
//	prefix/_manifest.json       written by Commit, after every part
//
// The manifest records the format, the Arrow schema (IPC-serialized) and
// its sha256 fingerprint, each part's key, row count, size and xxh3
// checksum, the total row count, the creation time and a checksum of all
// that (a damaged manifest that still parses fails Open with ErrCorrupt).
// Open fails with ErrNotCommitted when there is no manifest; a Reader
// iterates only the manifest's parts, in order, so parts left by a crashed
// writer are ignored, and reads each part back against its checksum before
// decoding it (a mismatch fails naming the part, wrapping ErrCorrupt).
//
// Re-writing a committed prefix requires WriterOptions.Overwrite. The
// committed dataset stays readable until the new one is committed: the
// new parts get generation names (part-<gen>-00000.parquet), the manifest
// put (one atomic rename locally, one PUT on S3) switches readers over,
// and only then are the parts it does not reference deleted (old ones and
// leftovers of crashed writers; a failure there leaves garbage, never a
// broken dataset).
//
// Merge commits a dataset made of committed sub-datasets (shards) without
// copying. Cache keeps materialized stage outputs by fingerprint, whole
// (Create) or per input batch (OpenParts), for pipeline.Resolve.
//
// Cache entries and resumable cache parts carry checksums too, checked
// by cost: Cache.Has reads the manifest and stats each part (a missing or
// resized part makes the entry damaged); Cache.Verify reads an entry back
// when it holds at most a byte budget (pipeline.Resolve passes it for the
// reused entries a run reads); Cache.Read checks each part it reads that
// no earlier Verify or Read of the same Cache checked, so no part is read
// back twice, and a skipped entry is never read beyond its manifest. A
// damaged entry found by Has or Verify is logged, dropped and reported
// absent, so that it is recomputed in the same run; one found by Read
// fails the read naming the part (ErrCorrupt) and is dropped, manifest
// first, so that the next run recomputes it. Artifacts are committed by a
// checksum sidecar (NAME.xxh3); a damaged artifact is logged, deleted and
// reads as absent.
//
// Not implemented: appending to a committed dataset, concurrent writers on
// one prefix (shard outputs use distinct prefixes), partitioned
// (hive-style) layouts and column pruning. A part checked as it is read is
// read twice (checksum pass, then decode; not hashed while decoding), and
// a Cache trusts the parts it checked for its lifetime (one run): bytes
// that change under it after the check are not noticed.
package dataset
