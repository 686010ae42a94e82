package imaging_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/image/draw"

	"github.com/medflow/medflow/imaging"
	"github.com/medflow/medflow/internal/testenv"
)

// BenchmarkDecode: one 2544×3056 8-bit gray baseline JPEG (quality 95) to
// 224×224 (cover), one goroutine; run with -cpu 1 for a single core.
//
//   - medflow-uint8, medflow-float32: Decoder.Uint8 / Float32 (libjpeg-turbo
//     at 1/8 in the DCT domain, then area-average resize and crop);
//   - libjpeg-c-loop: testdata/djpeg_loop.c, built with gcc -O2 against the
//     same libjpeg, decodes the same bytes b.N times in one process exactly
//     as `djpeg -grayscale -scale 1/8` does (no resize, no PNM output, no
//     process start-up): the libjpeg-turbo limit;
//   - djpeg-exec: the real `djpeg -grayscale -scale 1/8 -pnm` once per
//     iteration (includes process start-up and writing the PGM to a pipe);
//   - go-jpeg+draw-catmullrom / -approxbilinear: image/jpeg at full size,
//     then golang.org/x/image/draw from the center 2544×2544 square to
//     224×224.
func BenchmarkDecode(b *testing.B) {
	src := bigXray(b)
	b.Run("medflow-uint8", func(b *testing.B) {
		d, _ := imaging.NewDecoder(imaging.Options{Size: 224})
		out := make([]uint8, 224*224)
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if _, err := d.Uint8(src, out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("medflow-float32", func(b *testing.B) {
		d, _ := imaging.NewDecoder(imaging.Options{Size: 224, Mean: 0.5, Std: 0.25})
		out := make([]float32, 224*224)
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if _, err := d.Float32(src, out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("libjpeg-c-loop", func(b *testing.B) {
		dir := b.TempDir()
		file := filepath.Join(dir, "x.jpg")
		if err := os.WriteFile(file, src, 0o644); err != nil {
			b.Fatal(err)
		}
		bin := filepath.Join(dir, "djpeg_loop")
		gcc := testenv.Tool(b, "MEDFLOW_CC_DIR", "gcc", "C compiler")
		if out, err := exec.Command(gcc, "-O2", "-o", bin, "testdata/djpeg_loop.c", "-ljpeg").CombinedOutput(); err != nil {
			b.Fatalf("gcc: %v: %s", err, out)
		}
		b.SetBytes(int64(len(src)))
		b.ResetTimer()
		out, err := exec.Command(bin, file, strconv.Itoa(b.N), "1").Output()
		if err != nil {
			b.Fatal(err)
		}
		f := strings.Fields(string(out))
		total, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(total/float64(b.N), "ns/op")
	})
	b.Run("djpeg-exec", func(b *testing.B) {
		bin := testenv.Tool(b, "MEDFLOW_DJPEG_DIR", "djpeg", "libjpeg-turbo-progs djpeg")
		file := filepath.Join(b.TempDir(), "x.jpg")
		if err := os.WriteFile(file, src, 0o644); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if err := exec.Command(bin, "-grayscale", "-scale", "1/8", "-pnm", file).Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, k := range []struct {
		name string
		k    draw.Scaler
	}{{"catmullrom", draw.CatmullRom}, {"approxbilinear", draw.ApproxBiLinear}} {
		b.Run("go-jpeg+draw-"+k.name, func(b *testing.B) {
			dst := image.NewGray(image.Rect(0, 0, 224, 224))
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				img, err := jpeg.Decode(bytes.NewReader(src))
				if err != nil {
					b.Fatal(err)
				}
				r := img.Bounds()
				side := min(r.Dx(), r.Dy())
				x0, y0 := (r.Dx()-side)/2, (r.Dy()-side)/2
				k.k.Scale(dst, dst.Rect, img, image.Rect(x0, y0, x0+side, y0+side), draw.Src, nil)
			}
		})
	}
}
