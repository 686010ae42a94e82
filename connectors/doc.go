// Package connectors opens object stores by URI and re-exports the Store
// interface of connectors/objstore.
//
// Accepted URIs:
//
//	file:///abs/dir        a local folder (connectors/local)
//	/abs/dir, rel/dir, .   a local folder, the embedded default
//	s3://bucket[/prefix]   an S3 bucket through minio-go (connectors/s3)
//
// Any other scheme is an error naming the URI. Formats (Arrow IPC, Parquet,
// CSV) are in connectors/formats; committed multi-part datasets are in
// connectors/dataset.
//
// Not implemented: other schemes (gs://, az://, http://), credentials or
// endpoints inside the URI (they belong in Options, so URIs stay loggable),
// and Windows drive-letter paths.
package connectors
