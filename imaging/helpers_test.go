package imaging_test

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/medflow/medflow/internal/testenv"
)

// phantom draws a w×h chest-X-ray-like image: a bright background, two
// darker lung fields with rib bands, a mediastinum, and sensor noise, so
// that JPEG sizes and entropy-decoding cost are realistic.
func phantom(w, h int, seed uint64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, 1))
	fw, fh := float64(w), float64(h)
	for y := range h {
		fy := float64(y) / fh
		for x := range w {
			fx := float64(x) / fw
			v := 200.0 - 40*fy
			for _, cx := range []float64{0.3, 0.7} {
				dx, dy := (fx-cx)/0.17, (fy-0.48)/0.32
				if r := dx*dx + dy*dy; r < 1 {
					v -= 110 * (1 - r*r)
					v += 25 * math.Max(0, math.Sin(fy*70+math.Abs(fx-0.5)*18))
				}
			}
			if d := math.Abs(fx-0.5) / 0.07; d < 1 && fy > 0.2 {
				v += 50 * (1 - d)
			}
			v += rng.NormFloat64() * phantomNoise
			img.Pix[y*img.Stride+x] = uint8(math.Max(0, math.Min(255, v)))
		}
	}
	return img
}

// colorPhantom is phantom with a color tint (a 3-component JPEG).
func colorPhantom(w, h int, seed uint64) *image.RGBA {
	g := phantom(w, h, seed)
	img := image.NewRGBA(g.Rect)
	for i, v := range g.Pix {
		img.Pix[4*i] = v
		img.Pix[4*i+1] = uint8(int(v) * 3 / 4)
		img.Pix[4*i+2] = uint8(255 - int(v)/2)
		img.Pix[4*i+3] = 255
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// progressiveJPEG re-encodes img with `cjpeg -progressive` (Debian
// libjpeg-turbo-progs).
func progressiveJPEG(t testing.TB, img *image.Gray) []byte {
	t.Helper()
	cjpeg := testenv.Tool(t, "MEDFLOW_DJPEG_DIR", "cjpeg", "libjpeg-turbo-progs cjpeg")
	var pgm bytes.Buffer
	fmt.Fprintf(&pgm, "P5\n%d %d\n255\n", img.Rect.Dx(), img.Rect.Dy())
	pgm.Write(img.Pix)
	cmd := exec.Command(cjpeg, "-progressive", "-quality", "90")
	cmd.Stdin = &pgm
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cjpeg: %v: %s", err, stderr.Bytes())
	}
	return out.Bytes()
}

// djpeg decodes src with `djpeg -grayscale -scale M/8 -pnm` and returns
// the PGM pixels.
func djpeg(t testing.TB, src []byte, scale int) *image.Gray {
	t.Helper()
	bin := testenv.Tool(t, "MEDFLOW_DJPEG_DIR", "djpeg", "libjpeg-turbo-progs djpeg")
	f := filepath.Join(t.TempDir(), "in.jpg")
	if err := os.WriteFile(f, src, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-grayscale", "-scale", fmt.Sprintf("%d/8", scale), "-pnm", f).Output()
	if err != nil {
		t.Fatalf("djpeg: %v", err)
	}
	return parsePGM(t, out)
}

func parsePGM(t testing.TB, b []byte) *image.Gray {
	t.Helper()
	var fields []int
	i := 2
	if !bytes.HasPrefix(b, []byte("P5")) {
		t.Fatalf("not a binary PGM: %q", b[:min(len(b), 16)])
	}
	for len(fields) < 3 {
		for b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t' {
			i++
		}
		j := i
		for b[j] >= '0' && b[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(string(b[i:j]))
		if err != nil {
			t.Fatal(err)
		}
		fields = append(fields, n)
		i = j
	}
	i++ // one whitespace after maxval
	w, h := fields[0], fields[1]
	if fields[2] != 255 || len(b)-i != w*h {
		t.Fatalf("PGM %dx%d maxval %d with %d pixel bytes", w, h, fields[2], len(b)-i)
	}
	return &image.Gray{Pix: b[i:], Stride: w, Rect: image.Rect(0, 0, w, h)}
}

// Cached test images (the big one takes a moment to draw and encode).
var (
	bigOnce sync.Once
	bigJPEG []byte
)

// BigW×BigH is a typical MIMIC-CXR-JPG size.
const BigW, BigH = 2544, 3056

func bigXray(t testing.TB) []byte {
	bigOnce.Do(func() { bigJPEG = encodeJPEG(t, phantom(BigW, BigH, 7), 95) })
	return bigJPEG
}

// uniform returns a w×h image of one gray level.
func uniform(w, h int, v uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// phantomNoise is the sensor noise (std, gray levels) of phantom: 1.5 gives
// ~1.2 MB for a 2544×3056 quality-95 JPEG, within the usual MIMIC-CXR-JPG range.
const phantomNoise = 1.5
