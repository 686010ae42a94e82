package synth

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/medflow/medflow/mimic"
)

const tw, th = 636, 764 // a quarter of 2544x3056

func render(seed uint64, labels [NumLabels]mimic.Label) (*image.Gray, Patient) {
	rng := rand.New(rand.NewPCG(seed, 1))
	p := Patient{Scale: 0.95, Exposure: 1, Side: 0}
	return Phantom(rng, tw, th, labels, p), p
}

func only(i int, v mimic.Label) [NumLabels]mimic.Label {
	var l [NumLabels]mimic.Label
	l[i] = v
	return l
}

// mean is the mean pixel value over the box given in fractions of the
// image.
func mean(img *image.Gray, x0, y0, x1, y1 float64) float64 {
	b := img.Bounds()
	var sum, n float64
	for y := int(y0 * float64(b.Dy())); y < int(y1*float64(b.Dy())); y++ {
		for x := int(x0 * float64(b.Dx())); x < int(x1*float64(b.Dx())); x++ {
			sum += float64(img.GrayAt(x, y).Y)
			n++
		}
	}
	return sum / n
}

func diff(a, b *image.Gray) (changed int) {
	for i := range a.Pix {
		if a.Pix[i] != b.Pix[i] {
			changed++
		}
	}
	return changed
}

func TestPhantomDeterministic(t *testing.T) {
	a, _ := render(3, only(Edema, Positive))
	b, _ := render(3, only(Edema, Positive))
	if diff(a, b) != 0 {
		t.Fatal("same seed, different images")
	}
	if a.Bounds().Dx() != tw || a.Bounds().Dy() != th {
		t.Fatalf("size %v", a.Bounds())
	}
}

// Every finding leaves a visible sign, and an uncertain label a fainter one.
func TestPhantomSigns(t *testing.T) {
	base, _ := render(11, [NumLabels]mimic.Label{})
	for i := range NumLabels {
		if i == NoFinding {
			continue
		}
		pos, _ := render(11, only(i, Positive))
		unc, _ := render(11, only(i, Uncertain))
		dp, du := diff(base, pos), diff(base, unc)
		if dp < 200 {
			t.Errorf("%s: positive changes only %d pixels", mimic.LabelNames[i], dp)
		}
		if du == 0 || du > dp*3/2 {
			t.Errorf("%s: uncertain changes %d pixels (positive %d)", mimic.LabelNames[i], du, dp)
		}
	}
	if d := diff(base, func() *image.Gray { g, _ := render(11, only(NoFinding, Positive)); return g }()); d != 0 {
		t.Errorf("No Finding changed %d pixels", d)
	}
}

func TestPhantomSpecificSigns(t *testing.T) {
	base, _ := render(5, [NumLabels]mimic.Label{})
	// Cardiomegaly widens the heart to the patient's left (image right).
	cardio, _ := render(5, only(Cardiomegaly, Positive))
	a, b := mean(base, 0.62, 0.6, 0.68, 0.68), mean(cardio, 0.62, 0.6, 0.68, 0.68)
	t.Logf("cardiomegaly: %.1f -> %.1f", a, b)
	if b < a+10 {
		t.Errorf("cardiomegaly: left heart border region %.1f -> %.1f", a, b)
	}
	// Effusion (side 0 = image left) fills the costophrenic angle.
	eff, _ := render(5, only(PleuralEffusion, Positive))
	a, b = mean(base, 0.22, 0.7, 0.28, 0.76), mean(eff, 0.22, 0.7, 0.28, 0.76)
	t.Logf("effusion: %.1f -> %.1f", a, b)
	if b < a+10 {
		t.Errorf("effusion: costophrenic angle %.1f -> %.1f", a, b)
	}
	// Pneumothorax darkens the apex of the affected lung.
	ptx, _ := render(5, only(Pneumothorax, Positive))
	a, b = mean(base, 0.25, 0.24, 0.33, 0.3), mean(ptx, 0.25, 0.24, 0.33, 0.3)
	t.Logf("pneumothorax: %.1f -> %.1f", a, b)
	if b > a-3 {
		t.Errorf("pneumothorax: apex %.1f -> %.1f", a, b)
	}
}

// Strokes thinner than the coarse grid (a 1.3-pixel tube here) are drawn at
// full resolution: continuous, not point-sampled into dashes or nothing.
func TestThinStrokesContinuous(t *testing.T) {
	const w, h = 256, 320
	c := &canvas{w: w / renderScale, h: h / renderScale, d: make([]float32, w/renderScale*h/renderScale)}
	c.line(0.5, 0.1, 0.52, 0.9, 0.005, 0.5)
	img := c.render(1, w, h, 1)
	for y := int(0.15 * h); y < int(0.85*h); y++ {
		var peak uint8
		for x := range w {
			peak = max(peak, img.GrayAt(x, y).Y)
		}
		if peak < 100 {
			t.Fatalf("row %d: brightest pixel %d: the tube is broken there", y, peak)
		}
	}
}

// The tone curve has a shoulder, not a clip: a tube (density +0.5) over the
// heart and mediastinum (~0.9) stays visible at the highest exposure, and
// below the knee the curve is the linear one with gamma 0.8.
func TestToneShoulder(t *testing.T) {
	const exposure = 1.15
	for _, d := range []float64{0.7, 0.9} {
		under, over := tone(d*exposure*gain), tone((d+0.5)*exposure*gain)
		if int(over)-int(under) < 5 {
			t.Errorf("density %.1f: %d, with a tube %d: the tube is lost", d, under, over)
		}
	}
	for v := 0.0; v <= toneKnee; v += 0.05 {
		if got, want := float64(tone(v)), 255*math.Pow(v, 0.8); math.Abs(got-want) > 1 {
			t.Errorf("tone(%.2f) = %v, want %.1f", v, got, want)
		}
	}
}
