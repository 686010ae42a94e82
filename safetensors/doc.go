// Package safetensors reads and writes the Hugging Face safetensors format:
// an 8-byte little-endian header length N, N bytes of JSON header mapping
// tensor names to {dtype, shape, data_offsets} (plus an optional
// "__metadata__" string map), then the tensor bytes.
//
// Implemented: a streaming [Reader] over an io.ReaderAt that parses and
// validates the header once and reads one tensor at a time (F32, F16 and
// BF16 converted to float32, or raw bytes of any dtype); a [Writer] that
// writes the header for declared tensors and then streams their data in
// order (F32, F16 or BF16 encoded from float32); IEEE half / bfloat16
// conversions. Malformed files give errors wrapping ErrTruncated,
// ErrHeaderTooLarge, ErrHeader, ErrOffsets or ErrDType that name the file
// and tensor.
//
// NOT implemented: memory mapping, other dtypes to float32 (I8, I32, F64,
// ...; their raw bytes are readable), sharded-checkpoint index files
// (model.safetensors.index.json; callers open each shard).
package safetensors
