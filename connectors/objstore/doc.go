// Package objstore defines medflow's single object-store abstraction: the
// Store interface, ObjectInfo, Range, key validation and the sentinel errors
// every implementation wraps. It performs no I/O of its own.
//
// Implemented here:
//   - Store, ObjectInfo, Range and the sentinels ErrNotFound, ErrInvalidKey,
//     ErrInvalidRange (wrapped in *Error, so errors.Is works and messages name
//     the store URI and key).
//   - ValidateKey, the key rules shared by every store.
//   - Helpers built only on the interface: ReadAll, PutBytes and ReaderAt
//     (an io.ReaderAt/io.Seeker over ranged Gets, for formats that need
//     random access such as Parquet and Arrow IPC files).
//
// Implementations live in sibling packages (connectors/local, connectors/s3);
// the conformance suite every implementation must pass is in
// connectors/objstore/objstoretest.
//
// Not implemented: versioning, conditional writes, copy/rename, multi-object
// delete and presigned URLs.
package objstore
