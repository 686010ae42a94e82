package imaging_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/medflow/medflow/imaging"
)

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  []byte
		want imaging.Format
	}{
		{"empty", nil, imaging.Unknown},
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0}, imaging.JPEG},
		{"jpeg-soi-only", []byte{0xFF, 0xD8}, imaging.JPEG},
		{"png", []byte("\x89PNG\r\n\x1a\n...."), imaging.PNG},
		{"png-short", []byte("\x89PNG"), imaging.Unknown},
		{"text", []byte("hello, world"), imaging.Unknown},
	} {
		if got := imaging.Sniff(tc.src); got != tc.want {
			t.Errorf("%s: Sniff = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDCTScale(t *testing.T) {
	for _, tc := range []struct {
		w, h, size int
		fit        imaging.Fit
		want       int
	}{
		{2544, 3056, 224, imaging.Cover, 1},   // 318 >= 224
		{3056, 2544, 224, imaging.Cover, 1},   // landscape: shorter side 2544
		{2544, 3056, 224, imaging.Contain, 1}, // 382 >= 224
		{2544, 3056, 512, imaging.Cover, 2},   // 318 < 512 <= 636
		{2544, 3056, 512, imaging.Contain, 2}, // 382 < 512 <= 764
		{1000, 1000, 224, imaging.Cover, 2},   // 125 < 224 <= 250
		{224, 300, 224, imaging.Cover, 8},     // exactly the size: no reduction
		{100, 80, 224, imaging.Cover, 8},      // smaller than the size
		{1792, 1792, 224, imaging.Cover, 1},   // exactly 8x
		{1791, 1791, 224, imaging.Cover, 1},   // ceil(1791/8) = 224: still 1/8
		{1783, 1783, 224, imaging.Cover, 2},   // ceil(1783/8) = 223 < 224
		{600, 3000, 224, imaging.Cover, 3},    // 225 >= 224 at 3/8
		{600, 3000, 224, imaging.Contain, 1},  // longer side 375 at 1/8
	} {
		if got := imaging.DCTScale(tc.w, tc.h, tc.size, tc.fit); got != tc.want {
			t.Errorf("DCTScale(%d, %d, %d, %v) = %d, want %d", tc.w, tc.h, tc.size, tc.fit, got, tc.want)
		}
	}
}

type testImage struct {
	name   string
	src    []byte
	w, h   int
	scales []int
}

func testImages(t *testing.T) []testImage {
	gOdd := phantom(37, 53, 2)
	prog := phantom(1001, 1203, 3)
	return []testImage{
		{"gray-2544x3056", bigXray(t), BigW, BigH, []int{1, 2, 3, 4, 8}},
		{"gray-odd-37x53", encodeJPEG(t, gOdd, 90), 37, 53, []int{1, 3, 5, 8}},
		{"gray-1x1", encodeJPEG(t, uniform(1, 1, 77), 90), 1, 1, []int{1, 8}},
		{"color-641x479", encodeJPEG(t, colorPhantom(641, 479, 4), 90), 641, 479, []int{1, 2, 7, 8}},
		{"color-odd-33x17", encodeJPEG(t, colorPhantom(33, 17, 5), 75), 33, 17, []int{1, 8}},
		{"progressive-1001x1203", progressiveJPEG(t, prog), 1001, 1203, []int{1, 2, 4, 8}},
	}
}

// The DCT-scaled decode must equal djpeg -grayscale -scale M/8 byte for byte.
func TestDecodeGrayMatchesDjpeg(t *testing.T) {
	for _, ti := range testImages(t) {
		for _, m := range ti.scales {
			t.Run(fmt.Sprintf("%s/%d-8", ti.name, m), func(t *testing.T) {
				got, info, err := imaging.DecodeGray(ti.src, m, 0)
				if err != nil {
					t.Fatal(err)
				}
				if info.Width != ti.w || info.Height != ti.h || info.Format != imaging.JPEG {
					t.Fatalf("info %+v, want %dx%d jpeg", info, ti.w, ti.h)
				}
				want := djpeg(t, ti.src, m)
				if got.Rect != want.Rect {
					t.Fatalf("decoded %v, djpeg %v", got.Rect, want.Rect)
				}
				if !bytes.Equal(got.Pix, want.Pix) {
					t.Fatalf("pixels differ from djpeg at %d/8", m)
				}
			})
		}
	}
}

// refAxis is the 1-D filter in float64, by brute force over every source
// pixel: area overlap when reducing, bilinear when enlarging.
func refAxis(srcLen, rlen, i int) []float64 {
	w := make([]float64, srcLen)
	s := float64(srcLen) / float64(rlen)
	if s >= 1 {
		lo, hi := float64(i)*s, float64(i+1)*s
		for j := range srcLen {
			w[j] = math.Max(0, math.Min(float64(j+1), hi)-math.Max(float64(j), lo)) / s
		}
		return w
	}
	x := math.Max(0, math.Min(float64(srcLen-1), (float64(i)+0.5)*s-0.5))
	j := int(x)
	f := x - float64(j)
	w[j] = 1 - f
	if f > 0 {
		w[j+1] = f
	}
	return w
}

// refResize is the reference: the resized size rounds side*n/ref, the
// crop/pad is centered (floor), the filter is refAxis in both directions.
func refResize(g *image.Gray, n int, fit imaging.Fit) []float64 {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	var rw, rh int
	if (fit == imaging.Cover) == (w <= h) {
		rw, rh = n, int(math.Round(float64(h)*float64(n)/float64(w)))
	} else {
		rw, rh = int(math.Round(float64(w)*float64(n)/float64(h))), n
	}
	if fit == imaging.Cover {
		rw, rh = max(rw, n), max(rh, n)
	} else {
		rw, rh = max(1, min(rw, n)), max(1, min(rh, n))
	}
	out := make([]float64, n*n)
	ox, oy := (rw-n)/2, (rh-n)/2 // cover: crop; contain: -pad
	if fit == imaging.Contain {
		ox, oy = -((n - rw) / 2), -((n - rh) / 2)
	}
	for y := range n {
		Y := y + oy
		if Y < 0 || Y >= rh {
			continue
		}
		wy := refAxis(h, rh, Y)
		for x := range n {
			X := x + ox
			if X < 0 || X >= rw {
				continue
			}
			wx := refAxis(w, rw, X)
			var s float64
			for j, a := range wy {
				if a == 0 {
					continue
				}
				for i, b := range wx {
					if b != 0 {
						s += a * b * float64(g.Pix[j*g.Stride+i])
					}
				}
			}
			out[y*n+x] = s
		}
	}
	return out
}

// After the resize, the output is within 1 gray level of the float64
// reference resize of djpeg's output at the same scale.
func TestDecoderMatchesReferenceResize(t *testing.T) {
	imgs := testImages(t)
	imgs = append(imgs, testImage{"uniform-gray-500x300", encodeJPEG(t, uniform(500, 300, 128), 90), 500, 300, nil})
	for _, ti := range imgs {
		for _, tc := range []struct {
			size int
			fit  imaging.Fit
		}{{224, imaging.Cover}, {224, imaging.Contain}, {64, imaging.Cover}, {97, imaging.Contain}} {
			if ti.w > 1500 && tc.size != 224 {
				continue // the float reference is slow on big inputs
			}
			t.Run(fmt.Sprintf("%s/%d-%v", ti.name, tc.size, tc.fit), func(t *testing.T) {
				d, err := imaging.NewDecoder(imaging.Options{Size: tc.size, Fit: tc.fit})
				if err != nil {
					t.Fatal(err)
				}
				got := make([]uint8, tc.size*tc.size)
				info, err := d.Uint8(ti.src, got)
				if err != nil {
					t.Fatal(err)
				}
				m := imaging.DCTScale(ti.w, ti.h, tc.size, tc.fit)
				if info.Scale != m || info.Width != ti.w || info.Height != ti.h {
					t.Fatalf("info %+v, want scale %d of %dx%d", info, m, ti.w, ti.h)
				}
				ref := refResize(djpeg(t, ti.src, m), tc.size, tc.fit)
				worst := 0.0
				for i, v := range got {
					worst = max(worst, math.Abs(float64(v)-ref[i]))
				}
				if worst > 1 {
					t.Fatalf("max |medflow - reference| = %.3f > 1 gray level", worst)
				}
			})
		}
	}
}

func TestFloat32Normalization(t *testing.T) {
	src := encodeJPEG(t, phantom(300, 400, 9), 90)
	for _, tc := range []struct{ mean, std float32 }{{0, 0}, {0.5, 0.25}, {0.485, 0.229}} {
		d8, _ := imaging.NewDecoder(imaging.Options{Size: 32})
		df, err := imaging.NewDecoder(imaging.Options{Size: 32, Mean: tc.mean, Std: tc.std})
		if err != nil {
			t.Fatal(err)
		}
		u := make([]uint8, 32*32)
		f := make([]float32, 32*32)
		if _, err := d8.Uint8(src, u); err != nil {
			t.Fatal(err)
		}
		if _, err := df.Float32(src, f); err != nil {
			t.Fatal(err)
		}
		std := tc.std
		if std == 0 {
			std = 1
		}
		for i := range u {
			if want := (float32(u[i])/255 - tc.mean) / std; math.Abs(float64(f[i]-want)) > 1e-6 {
				t.Fatalf("mean %g std %g: f[%d] = %g, want %g", tc.mean, tc.std, i, f[i], want)
			}
		}
	}
}

func TestPNG(t *testing.T) {
	g := phantom(120, 90, 11)
	g16 := image.NewGray16(g.Rect)
	for i, v := range g.Pix {
		g16.Pix[2*i], g16.Pix[2*i+1] = v, v // v*257: rounds back to v
	}
	rgb := image.NewRGBA(g.Rect)
	for i, v := range g.Pix {
		copy(rgb.Pix[4*i:], []uint8{v, v, v, 255})
	}
	for _, tc := range []struct {
		name string
		img  image.Image
	}{{"gray8", g}, {"gray16", g16}, {"rgb", rgb}} {
		t.Run(tc.name, func(t *testing.T) {
			src := encodePNG(t, tc.img)
			got, info, err := imaging.DecodeGray(src, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != imaging.PNG || info.Width != 120 || info.Height != 90 || info.Scale != 8 {
				t.Fatalf("info %+v", info)
			}
			if !bytes.Equal(got.Pix, g.Pix) {
				t.Fatal("PNG pixels differ from the source")
			}
			d, _ := imaging.NewDecoder(imaging.Options{Size: 48})
			out := make([]uint8, 48*48)
			if _, err := d.Uint8(src, out); err != nil {
				t.Fatal(err)
			}
			ref := refResize(g, 48, imaging.Cover)
			for i, v := range out {
				if math.Abs(float64(v)-ref[i]) > 1 {
					t.Fatalf("pixel %d: %d vs reference %.2f", i, v, ref[i])
				}
			}
		})
	}
}

// sof returns the offset of the first SOFn marker's length field.
func sof(t testing.TB, src []byte) int {
	for i := 2; i+1 < len(src); i++ {
		if src[i] == 0xFF && src[i+1] >= 0xC0 && src[i+1] <= 0xC2 {
			return i + 2
		}
	}
	t.Fatal("no SOF marker")
	return 0
}

// withSize patches the SOF frame size of a JPEG.
func withSize(t testing.TB, src []byte, w, h int) []byte {
	b := bytes.Clone(src)
	o := sof(t, b) + 3 // length(2) precision(1)
	b[o], b[o+1], b[o+2], b[o+3] = byte(h>>8), byte(h), byte(w>>8), byte(w)
	return b
}

// scanStart returns the offset just after the SOS header.
func scanStart(t testing.TB, src []byte) int {
	i := bytes.Index(src, []byte{0xFF, 0xDA})
	if i < 0 {
		t.Fatal("no SOS")
	}
	return i + 2 + int(src[i+2])<<8 | int(src[i+3])
}

func TestErrors(t *testing.T) {
	good := encodeJPEG(t, phantom(400, 500, 12), 90)
	scan := scanStart(t, good)
	corrupt := bytes.Clone(good)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := scan + (len(good)-scan)/3; i < scan+(len(good)-scan)/2; i++ {
		corrupt[i] = byte(rng.IntN(256))
	}
	markerInScan := bytes.Clone(good)
	copy(markerInScan[scan+(len(good)-scan)/2:], []byte{0xFF, 0xC4, 0xFF, 0xC4})
	pngSrc := encodePNG(t, phantom(40, 30, 13))
	for _, tc := range []struct {
		name string
		src  []byte
		want error
	}{
		{"zero-bytes", nil, imaging.ErrEmpty},
		{"text", []byte("not an image, just text\n"), imaging.ErrUnknownFormat},
		{"soi-only", good[:2], imaging.ErrTruncated},
		{"truncated-in-header", good[:40], imaging.ErrTruncated},
		{"truncated-at-scan", good[:scan], imaging.ErrTruncated},
		{"truncated-mid-scan", good[:scan+(len(good)-scan)/2], imaging.ErrTruncated},
		{"truncated-no-eoi", good[:len(good)-2], imaging.ErrTruncated},
		{"corrupt-scan-bytes", corrupt, imaging.ErrCorrupt},
		{"marker-in-scan", markerInScan, imaging.ErrCorrupt},
		{"bomb-60000x60000", withSize(t, good, 60000, 60000), imaging.ErrTooLarge},
		{"zero-width", withSize(t, good, 0, 500), imaging.ErrCorrupt},
		{"png-truncated", pngSrc[:len(pngSrc)/2], imaging.ErrTruncated},
		{"png-bomb", pngBomb(pngSrc), imaging.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := imaging.NewDecoder(imaging.Options{Size: 64})
			_, err := d.Uint8(tc.src, make([]uint8, 64*64))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			_, _, err = imaging.DecodeGray(tc.src, 8, 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodeGray err = %v, want %v", err, tc.want)
			}
		})
	}
}

// pngBomb patches the IHDR of a PNG to 60000×60000 and fixes its CRC.
func pngBomb(src []byte) []byte {
	b := bytes.Clone(src)
	// IHDR data starts at 16: width(4) height(4).
	for _, o := range []int{16, 20} {
		b[o], b[o+1], b[o+2], b[o+3] = 0, 0, 0xEA, 0x60
	}
	crc := crc32IEEE(b[12:29])
	b[29], b[30], b[31], b[32] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	return b
}

// A bomb is rejected from the header: the Go heap grows by far less than
// the claimed image (3.6 GB).
func TestBombAllocatesNothing(t *testing.T) {
	bomb := withSize(t, encodeJPEG(t, phantom(64, 64, 1), 90), 60000, 60000)
	d, _ := imaging.NewDecoder(imaging.Options{})
	dst := make([]uint8, 224*224)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := d.Uint8(bomb, dst); !errors.Is(err, imaging.ErrTooLarge) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<10 {
		t.Fatalf("10 rejected bombs allocated %d bytes", grown)
	}
	info, err := imaging.Config(bomb)
	if err != nil || info.Width != 60000 || info.Height != 60000 {
		t.Fatalf("Config = %+v, %v", info, err)
	}
}

// Concurrent calls on one Decoder give the same bytes as serial ones.
func TestConcurrent(t *testing.T) {
	srcs := [][]byte{
		encodeJPEG(t, phantom(700, 800, 21), 90),
		encodeJPEG(t, colorPhantom(500, 300, 22), 85),
		encodePNG(t, phantom(200, 260, 23)),
		[]byte("garbage"),
	}
	d, _ := imaging.NewDecoder(imaging.Options{Size: 96, Fit: imaging.Contain})
	want := make([][]uint8, len(srcs))
	for i, s := range srcs {
		want[i] = make([]uint8, 96*96)
		d.Uint8(s, want[i])
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			out := make([]uint8, 96*96)
			for k := range 40 {
				i := (g + k) % len(srcs)
				_, err := d.Uint8(srcs[i], out)
				if (err == nil) != (i != 3) || (err == nil && !bytes.Equal(out, want[i])) {
					errs <- fmt.Errorf("goroutine %d image %d: err %v or pixels differ", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewDecoderRejects(t *testing.T) {
	for _, o := range []imaging.Options{{Size: -1}, {Size: 10000}, {MaxPixels: -5}, {Fit: 7}} {
		if _, err := imaging.NewDecoder(o); err == nil {
			t.Errorf("NewDecoder(%+v) accepted", o)
		}
	}
	if _, err := imaging.ParseFit("stretch"); err == nil {
		t.Error("ParseFit accepted stretch")
	}
}

// Every path (success, each kind of failure) frees libjpeg's memory: the
// C heap does not grow over thousands of calls.
func TestNoCLeak(t *testing.T) {
	good := encodeJPEG(t, phantom(400, 500, 12), 90)
	prog := progressiveJPEG(t, phantom(300, 200, 13))
	scan := scanStart(t, good)
	corrupt := bytes.Clone(good)
	for i := scan + 100; i < scan+2000; i++ {
		corrupt[i] ^= 0x5A
	}
	srcs := [][]byte{good, prog, good[:scan+(len(good)-scan)/2], prog[:len(prog)/2], good[:len(good)-2], corrupt,
		withSize(t, good, 60000, 60000), good[:40], []byte("text")}
	d, _ := imaging.NewDecoder(imaging.Options{Size: 64})
	out := make([]uint8, 64*64)
	run := func(n int) {
		for range n {
			for _, s := range srcs {
				d.Uint8(s, out)
				imaging.Config(s)
			}
		}
	}
	run(20)
	before := imaging.CMallocInUse()
	run(300)
	if grown := imaging.CMallocInUse() - before; grown > 256<<10 {
		t.Fatalf("C heap grew by %d bytes over %d calls", grown, 300*len(srcs)*2)
	}
}
