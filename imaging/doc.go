// Package imaging decodes medical images (JPEG, PNG) to fixed-size
// grayscale tensors, fast. It has no Arrow or pipeline dependency; the
// image.decode stage (stages/image) is a thin adapter over it.
//
// # Pipeline of one image
//
//  1. Sniff the format from the magic bytes (FF D8 for JPEG, the PNG
//     signature), never from a file name: a PNG named .jpg is decoded as a
//     PNG.
//  2. Read the header only and reject images with more than MaxPixels
//     pixels (default 100e6) before anything image-sized is allocated:
//     a JPEG whose SOF claims 60000×60000 costs a few microseconds.
//  3. JPEG: decode with libjpeg-turbo through cgo (Debian
//     libjpeg62-turbo-dev, -ljpeg) straight to grayscale
//     (out_color_space = JCS_GRAYSCALE, also for color files: luma only,
//     chroma is never inverse-transformed), reduced in the DCT domain by
//     M/8. The rule (DCTScale): the smallest M in 1..8 for which the side
//     that will be fitted to Size (the shorter one for Cover, the longer
//     one for Contain) is still at least Size pixels once decoded,
//     ceil(side*M/8) >= Size. A 2544×3056 X-ray to 224 decodes at 1/8
//     (318×382). The decoded image is thus never smaller than the resized
//     one, so the resampler only reduces. The decode equals `djpeg
//     -grayscale -scale M/8` byte for byte (tested).
//     PNG (8/16-bit gray, RGB, RGBA, paletted) goes through Go's
//     image/png at full size; 16-bit samples are rounded to 8 bits and
//     color uses the Rec.601 luma weights, like libjpeg.
//  4. Resize preserving the aspect ratio so that the fitted side is Size
//     (the other side rounds side*Size/fitted), then center-crop (Cover)
//     or center-pad with Options.Pad (Contain) to Size×Size; only the
//     pixels that survive the crop are computed. The resampler is an exact
//     area average (box filter with fractional coverage) when reducing and
//     bilinear when enlarging (images smaller than Size), separable, in
//     14-bit fixed point: within 1 gray level of the float64 reference.
//  5. Output uint8, or float32 normalized as (x/255 - Mean)/Std.
//
// # Errors and safety
//
// Every error wraps one of ErrEmpty, ErrUnknownFormat, ErrTooLarge,
// ErrTruncated, ErrCorrupt, ErrUnsupported. libjpeg's fatal errors (which
// would call exit()) go through a custom error manager that longjmps back
// to the C function Go called; every libjpeg warning is an error too
// ("Premature end of JPEG file" is ErrTruncated, "Corrupt JPEG data: ..."
// ErrCorrupt), except the metadata-only JWRN_JFIF_MAJOR and
// JWRN_BOGUS_ICC. Nothing is printed. Progressive files with more than
// 500 scans are rejected (scan floods). jpeg_destroy_decompress runs on
// every path (tested by watching the C heap over thousands of failing
// calls). Each call owns its decompress struct, so a Decoder is safe for
// concurrent use; scratch buffers are pooled. A fuzz test (FuzzDecode,
// corpus in testdata/fuzz) checks that arbitrary bytes never crash or hang
// the decoder.
//
// # Not implemented
//
// CMYK/YCCK JPEGs and 12-bit or lossless JPEGs (ErrUnsupported: the
// Debian library is the 8-bit build), DICOM, JPEG 2000, EXIF orientation
// (MIMIC-CXR-JPG files carry none), color output, Lanczos or other
// resampling kernels, and 16-bit output.
package imaging
