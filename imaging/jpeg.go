package imaging

/*
#cgo LDFLAGS: -ljpeg
#include <malloc.h>
#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
#include "jpeg_cgo.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// libjpeg message codes that classify a failure; the glue's own codes are
// negative.
const (
	jerrBadPrecision      = C.JERR_BAD_PRECISION
	jerrConversionNotImpl = C.JERR_CONVERSION_NOTIMPL
	jwrnJPEGEOF           = C.JWRN_JPEG_EOF
	mfTooLarge            = -2
)

// jpegError turns a failed call's mf_info into an error of the right kind.
func jpegError(info *C.mf_info) error {
	msg := C.GoString(&info.msg[0])
	code := int(info.msg_code)
	switch {
	case code == mfTooLarge:
		return fmt.Errorf("%w: jpeg: %s", ErrTooLarge, msg)
	case info.warning != 0 && code == jwrnJPEGEOF:
		return fmt.Errorf("%w: jpeg: %s", ErrTruncated, msg)
	case code == jerrConversionNotImpl || code == jerrBadPrecision:
		return fmt.Errorf("%w: jpeg: %s", ErrUnsupported, msg)
	}
	return fmt.Errorf("%w: jpeg: %s", ErrCorrupt, msg)
}

// jpegHeader reads the JPEG header of src without decoding pixels.
func jpegHeader(src []byte) (Info, error) {
	var info C.mf_info
	if C.mf_jpeg_header((*C.uchar)(unsafe.Pointer(&src[0])), C.size_t(len(src)), &info) != 0 {
		return Info{}, jpegError(&info)
	}
	return Info{Format: JPEG, Width: int(info.width), Height: int(info.height), Components: int(info.components),
		Progressive: info.progressive != 0}, nil
}

// jpegDecode decodes src to gray reduced by scale/8 into dst, which must
// hold the scaled image (see scaledSize).
func jpegDecode(src []byte, scale int, maxPixels int64, dst []byte) (w, h int, err error) {
	var info C.mf_info
	if len(dst) == 0 {
		return 0, 0, fmt.Errorf("%w: jpeg: empty output", ErrCorrupt)
	}
	rc := C.mf_jpeg_decode((*C.uchar)(unsafe.Pointer(&src[0])), C.size_t(len(src)), C.int(scale),
		C.longlong(maxPixels), (*C.uchar)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)), &info)
	if rc != 0 {
		return 0, 0, jpegError(&info)
	}
	return int(info.out_width), int(info.out_height), nil
}

// cMallocInUse is the C heap in use (glibc mallinfo2, all arenas); tests
// use it to check that no path leaks libjpeg memory.
func cMallocInUse() int64 { return int64(C.mallinfo2().uordblks) }
