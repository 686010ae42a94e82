// Package s3 implements objstore.Store over an S3 bucket (AWS S3, MinIO,
// versitygw, ...) through github.com/minio/minio-go/v7.
//
// A store is addressed as s3://bucket/prefix; the prefix is prepended to
// every key. Put uses minio PutObject (one PUT, or a multipart upload with
// 16 MiB parts when the size is unknown); both are atomic on S3.
//
// Resumable reads: minio-go retries a request that fails before its
// response, but a body that dies mid-stream (connection reset, unexpected
// EOF, server restart) surfaces as a read error. Get returns a reader that,
// on any read error other than io.EOF, re-opens the object with a ranged GET
// starting at the next byte not yet delivered, pinned with If-Match to the
// first response's ETag (a changed object fails with ErrObjectChanged
// instead of splicing two versions). Re-opens, and the initial open, are
// retried with exponential backoff and full jitter until Retry.Deadline has
// passed since the last progress; the give-up error names the bucket, key,
// offset and last cause. Context cancellation stops retries at once.
//
// A rejected TLS certificate is final (ErrCertificate): neither these retries nor
// minio-go's own repeat it.
//
// The other operations (Stat, Put, Delete, List, and New's bucket check)
// retry transport failures and 5xx answers with the same backoff and
// deadline (minio-go makes one attempt per call): a Put replays its body
// when the body can seek (files, byte slices), and a body that failed or
// ended short is never retried.
//
// Timeouts bound each request: Connect (TCP and TLS), ResponseHeader, and
// IdleBody (no body byte received, or none sent, for that long); defaults
// 10 s, 20 s and 20 s. A timed-out attempt is retried once; the second
// ends the retries with an error wrapping ErrTimeout that names the
// endpoint, so an endpoint that accepts connections but never answers
// fails within about 45 s instead of hanging. Each retry is logged at
// debug level (Options.Logger) with its operation, key, count and
// sanitized cause. PutIf is a conditional put (If-None-Match / If-Match)
// for leases.
//
// Secrets: Options implements String, GoString, LogValue and MarshalJSON
// with the access key, secret key and session token redacted, and every
// error returned by this package is rebuilt from the minio error text with
// those values replaced by "REDACTED" (the minio error is not wrapped, so no
// caller can reach an unredacted message through errors.As).
//
// Not implemented: server-side encryption options, storage classes, object
// tags/metadata, anonymous access, and cleaning up incomplete multipart
// uploads left by killed writers (set an AbortIncompleteMultipartUpload
// lifecycle rule on the bucket).
package s3
