package synth

import (
	"image"
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
