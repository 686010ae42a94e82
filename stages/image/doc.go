// Package image holds the image.decode stage: it turns MIMIC-CXR-JPG files
// (JPEG, or PNG by magic bytes whatever the name) into size×size grayscale
// tensors with package imaging (libjpeg-turbo with DCT-domain scaling, then
// an area-average resize; see its doc for the exact rules).
//
// Input: either path_column (string keys relative to the root URI, read
// through Deps.Open: a local folder or s3://) or bytes_column (binary). The
// output is the input columns followed by
//
//	image        fixed_size_list<uint8 | float32>[size*size], row-major
//	orig_width   int32, the stored image's width from its header
//	orig_height  int32
//
// with fit cover (shorter side = size, center crop) or contain (longer side
// = size, centered, padded with 0), and dtype float32 normalized as
// (x/255 - mean)/std. With rows_column/columns_column (DICOM Rows =
// height, Columns = width; any integer type, null = unchecked) a decoded
// size that differs from the metadata is a fault.
//
// Per-record faults go to the run's quarantine and the row is dropped
// while the rest flows; the reason starts with "missing file", "null path",
// "null bytes", "invalid key", "file too large" (more than max_bytes, read
// no further), "empty file", "unknown image format",
// "truncated image", "corrupt image", "image too large" (more than
// max_pixels, checked from the header), "unsupported image" or
// "dimension mismatch". The key is key_column's value, else the full path,
// else "<bytes_column>[i]". The engine's error budget (MaxQuarantined)
// decides when to stop. Other store errors stop the run.
//
// Concurrency: each input batch is cut into chunks of batch_rows rows; the
// rows of a chunk are read and decoded in parallel, with at most Workers
// decodes in flight across the whole stage (so one big input batch and many
// small ones both use every worker). Output keeps input order.
//
// Not implemented: DICOM input, color output, augmentation (random crops,
// flips), caching of decoded tensors (materialize the stage output instead).
package image
