package imaging_test

import (
	"errors"
	"testing"

	"github.com/medflow/medflow/imaging"
)

// FuzzDecode feeds arbitrary bytes to the decoder: it must return an
// output or one of the package's errors, never crash, hang or leak. The
// committed corpus (testdata/fuzz/FuzzDecode) holds tiny gray, color,
// progressive, restart-marker and PNG files and truncated/corrupt ones.
func FuzzDecode(f *testing.F) {
	f.Add(encodeJPEG(f, phantom(16, 24, 1), 80))
	f.Add(encodeJPEG(f, colorPhantom(19, 9, 2), 60))
	f.Add(encodePNG(f, phantom(8, 8, 3)))
	kinds := []error{imaging.ErrEmpty, imaging.ErrUnknownFormat, imaging.ErrTooLarge, imaging.ErrTruncated,
		imaging.ErrCorrupt, imaging.ErrUnsupported}
	// Small MaxPixels keeps every input cheap: the fuzzer finds headers
	// claiming large sizes quickly, and those must be rejected, not decoded.
	cover, _ := imaging.NewDecoder(imaging.Options{Size: 16, MaxPixels: 1 << 20})
	contain, _ := imaging.NewDecoder(imaging.Options{Size: 7, Fit: imaging.Contain, MaxPixels: 1 << 20})
	out16 := make([]uint8, 16*16)
	out7 := make([]float32, 7*7)
	f.Fuzz(func(t *testing.T, src []byte) {
		check := func(info imaging.Info, err error) {
			if err == nil {
				if info.Width <= 0 || info.Height <= 0 || info.DecodedWidth <= 0 || info.DecodedHeight <= 0 {
					t.Fatalf("success with info %+v", info)
				}
				return
			}
			for _, k := range kinds {
				if errors.Is(err, k) {
					return
				}
			}
			t.Fatalf("error of no known kind: %v", err)
		}
		check(cover.Uint8(src, out16))
		check(contain.Float32(src, out7))
		if info, err := imaging.Config(src); err == nil && int64(info.Width)*int64(info.Height) <= 1<<20 {
			_, info, err := imaging.DecodeGray(src, 3, 1<<20)
			check(info, err)
		}
	})
}
