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
// its sha256 fingerprint, each part's key, row count and size, the total row
// count and the creation time. Open fails with ErrNotCommitted when there is
// no manifest; a Reader iterates only the manifest's parts, in order, so
// parts left by a crashed writer are ignored. Re-writing a committed prefix
// requires WriterOptions.Overwrite, which first deletes the manifest (the
// dataset is then uncommitted until the new Commit).
//
// Merge commits a dataset made of committed sub-datasets (shards) without
// copying. Cache keeps materialized stage outputs by fingerprint, whole
// (Create) or per input batch (OpenParts), for pipeline.Resolve.
//
// Not implemented: appending to a committed dataset, garbage collection of
// leftover parts (medflow gc prunes the cache only), concurrent writers on
// one prefix (shard outputs use distinct prefixes), partitioned
// (hive-style) layouts and column pruning.
package dataset
