//go:build !cgo

package imaging

import "fmt"

// Without cgo there is no libjpeg-turbo: JPEGs are ErrUnsupported (PNG
// still works), so that CGO_ENABLED=0 builds of the module still compile.

func jpegHeader([]byte) (Info, error) {
	return Info{}, fmt.Errorf("%w: jpeg: built without cgo (libjpeg-turbo)", ErrUnsupported)
}

func jpegDecode([]byte, int, int64, []byte) (int, int, error) {
	return 0, 0, fmt.Errorf("%w: jpeg: built without cgo (libjpeg-turbo)", ErrUnsupported)
}

func cMallocInUse() int64 { return 0 }
