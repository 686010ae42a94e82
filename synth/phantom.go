package synth

import (
	"image"
	"math"
	"math/rand/v2"

	"github.com/medflow/medflow/mimic"
)

// Patient varies the anatomy and acquisition of a phantom.
type Patient struct {
	Scale    float64 // body size, ~0.85-1.05
	DX, DY   float64 // position offset, fraction of the image
	Exposure float64 // detector gain, ~0.8-1.15
	AP       bool    // AP (portable) instead of PA: magnified heart, higher clavicles
	Side     int     // 0 or 1: which side unilateral signs appear on
}

// RandomPatient draws a Patient.
func RandomPatient(rng *rand.Rand, view string) Patient {
	return Patient{
		Scale:    0.85 + 0.2*rng.Float64(),
		DX:       (rng.Float64() - 0.5) * 0.06,
		DY:       (rng.Float64() - 0.5) * 0.05,
		Exposure: 0.8 + 0.35*rng.Float64(),
		AP:       view == "AP",
		Side:     rng.IntN(2),
	}
}

// renderScale: the anatomy is drawn on a grid this many times smaller than
// the image, then upsampled; pixel noise is added at full resolution.
const renderScale = 4

// canvas is a density map in [0, ~1]; coordinates are fractions of the
// image width and height. The anatomy is drawn on a coarse canvas; lines
// and blobs thinner than its cells (tubes, leads, vessel markings, the
// visceral pleural line) would be point-sampled there, coming out dashed
// or not at all, so the coarse canvas keeps them in fine and render draws
// them on the full-resolution canvas.
type canvas struct {
	w, h int
	d    []float32
	fine []func(*canvas) // nil on the full-resolution canvas
	full bool            // the full-resolution canvas: draws everything itself
}

// thin reports whether a stroke of this width (a fraction of the image
// width) is left to the full-resolution canvas.
func (c *canvas) thin(width float64) bool { return !c.full && width*float64(c.w) < 2 }

func (c *canvas) px(x, y float64) (int, int) { return int(x * float64(c.w)), int(y * float64(c.h)) }

// paint adds amp*f(x,y) over the box [x0,x1]x[y0,y1]; f returns a weight
// in [0,1].
func (c *canvas) paint(x0, y0, x1, y1, amp float64, f func(x, y float64) float64) {
	i0, j0 := c.px(max(x0, 0), max(y0, 0))
	i1, j1 := c.px(min(x1, 1), min(y1, 1))
	for j := j0; j < j1; j++ {
		y := (float64(j) + 0.5) / float64(c.h)
		row := c.d[j*c.w:]
		for i := i0; i < i1; i++ {
			if w := f((float64(i)+0.5)/float64(c.w), y); w > 0 {
				row[i] += float32(amp * w)
			}
		}
	}
}

// soft is a smooth 0..1 edge: 1 inside (t < 0), 0 outside (t > e).
func soft(t, e float64) float64 {
	switch {
	case t <= 0:
		return 1
	case t >= e:
		return 0
	}
	s := t / e
	return 1 - s*s*(3-2*s)
}

func (c *canvas) ellipse(cx, cy, rx, ry, amp, edge float64) {
	c.paint(cx-rx-edge, cy-ry-edge, cx+rx+edge, cy+ry+edge, amp, func(x, y float64) float64 {
		r := math.Hypot((x-cx)/rx, (y-cy)/ry)
		return soft((r-1)*min(rx, ry), edge)
	})
}

func (c *canvas) blob(cx, cy, r, amp float64) {
	if c.thin(2 * r) {
		c.fine = append(c.fine, func(f *canvas) { f.blob(cx, cy, r, amp) })
		return
	}
	c.paint(cx-3*r, cy-3*r, cx+3*r, cy+3*r, amp, func(x, y float64) float64 {
		d2 := ((x-cx)*(x-cx) + (y-cy)*(y-cy)) / (r * r)
		return math.Exp(-d2 / 2)
	})
}

// line paints a segment of the given width with soft edges.
func (c *canvas) line(x0, y0, x1, y1, width, amp float64) {
	if c.thin(width) {
		c.fine = append(c.fine, func(f *canvas) { f.line(x0, y0, x1, y1, width, amp) })
		return
	}
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	pad := width * 2
	c.paint(min(x0, x1)-pad, min(y0, y1)-pad, max(x0, x1)+pad, max(y0, y1)+pad, amp, func(x, y float64) float64 {
		t := max(0, min(1, ((x-x0)*dx+(y-y0)*dy)/l2))
		d := math.Hypot(x-(x0+t*dx), y-(y0+t*dy))
		return soft(d-width/2, width/2)
	})
}

// polyline paints connected segments.
func (c *canvas) polyline(pts [][2]float64, width, amp float64) {
	for i := 1; i < len(pts); i++ {
		c.line(pts[i-1][0], pts[i-1][1], pts[i][0], pts[i][1], width, amp)
	}
}

// lung describes one lung field: center, half-sizes, and its diaphragm.
type lung struct{ cx, cy, rx, ry float64 }

// inside is a 0..1 weight of (x,y) being inside the lung field: an
// egg-shaped superellipse, flat-bottomed by the diaphragm dome.
func (l lung) inside(x, y float64) float64 {
	u, v := (x-l.cx)/l.rx, (y-l.cy)/l.ry
	if v < 0 {
		u *= 1 + 0.6*(-v) // narrower apex
	}
	r := math.Pow(math.Pow(math.Abs(u), 2.4)+math.Pow(math.Abs(v), 2.4), 1/2.4)
	dome := 0.75 + 0.2*(1-u*u) // the diaphragm rises medially
	if v > dome {
		return 0
	}
	return soft((r-1)*l.rx, 0.01)
}

// Phantom draws a chest radiograph phantom of w×h pixels (8-bit grayscale,
// white = dense) with a sign for every positive label and a faint one for
// every uncertain label.
func Phantom(rng *rand.Rand, w, h int, labels [NumLabels]mimic.Label, p Patient) *image.Gray {
	c := &canvas{w: max(w/renderScale, 8), h: max(h/renderScale, 8)}
	noiseSeed := rng.Uint64() | 1 // drawn first: the same seed gives the same noise whatever the labels
	c.d = make([]float32, c.w*c.h)
	ch := &chest{c: c, rng: rng, labels: labels, p: p, s: p.Scale, cx: 0.5 + p.DX, cy: 0.52 + p.DY}
	// The drawing order is fixed: it is the order of the draws from rng.
	ch.drawBody()
	ch.drawMediastinum()
	ch.drawRibs()
	ch.drawSigns()
	return c.render(noiseSeed, w, h, p.Exposure)
}

// chest is a phantom being drawn: the canvas, the random source, the
// labels and the patient, its scale s and center (cx, cy), and its lungs.
type chest struct {
	c      *canvas
	rng    *rand.Rand
	labels [NumLabels]mimic.Label
	p      Patient
	s      float64
	cx, cy float64
	lungs  [2]lung
}

// amp is how strongly label i shows: 1 positive, 0.35 uncertain, else 0.
func (ch *chest) amp(i int) float64 {
	switch ch.labels[i] {
	case Positive:
		return 1
	case Uncertain:
		return 0.35
	}
	return 0
}

// side is +1 for k 0 (image left, the patient's right) and -1 for k 1.
func side(k int) float64 { return float64(1 - 2*k) }

// drawBody draws air, the soft tissue of the body (wider than the image at
// the bottom) and the neck, the lungs (dark) carved out of it, and the
// lung markings: vessels fanning out from the hila.
func (ch *chest) drawBody() {
	c, s, cx, cy := ch.c, ch.s, ch.cx, ch.cy
	for i := range c.d {
		c.d[i] = 0.04
	}
	c.ellipse(cx, cy+0.18, 0.47*s, 0.66*s, 0.36, 0.03)
	c.ellipse(cx, cy-0.46*s, 0.09*s, 0.12, 0.16, 0.03)

	ch.lungs = [2]lung{
		{cx - 0.175*s, cy - 0.02, 0.15 * s, 0.30 * s},
		{cx + 0.175*s, cy - 0.01, 0.14 * s, 0.29 * s},
	}
	for _, l := range ch.lungs {
		c.paint(l.cx-l.rx-0.02, l.cy-l.ry-0.02, l.cx+l.rx+0.02, l.cy+l.ry+0.02, -0.30, l.inside)
	}
	for k, l := range ch.lungs {
		hx, hy := l.cx+side(k)*0.5*l.rx, l.cy+0.05
		for range 14 {
			a := math.Pi/2 + side(k)*(0.3+ch.rng.Float64()*2.0)
			length := (0.4 + 0.5*ch.rng.Float64()) * l.rx * 1.6
			x1, y1 := hx+math.Cos(a)*length*-side(k), hy-math.Sin(a)*length*0.9
			c.line(hx, hy, x1, y1, 0.006, 0.035)
		}
	}
}

// drawMediastinum draws the mediastinum and spine, the heart (wider with
// cardiomegaly, magnified on AP films) and the diaphragm and abdomen below
// the lungs.
func (ch *chest) drawMediastinum() {
	c, s, cx, cy := ch.c, ch.s, ch.cx, ch.cy
	medW := 0.055 * s * (1 + 0.6*ch.amp(EnlargedCardiomediastinum))
	top, bottom := cy-0.34*s, cy+0.2*s
	c.paint(cx-medW-0.03, top-0.04, cx+medW+0.03, bottom+0.04, 0.24, func(x, y float64) float64 {
		return soft(math.Abs(x-cx)-medW, 0.02) * soft(top-y, 0.04) * soft(y-bottom, 0.04)
	})
	c.paint(cx-0.04*s, 0, cx+0.04*s, 1, 0.07, func(x, y float64) float64 {
		return soft(math.Abs(x-cx)-0.022*s, 0.01) * (0.7 + 0.3*math.Cos(y*160))
	})

	hw := 0.13 * s * (1 + 0.40*ch.amp(Cardiomegaly))
	if ch.p.AP {
		hw *= 1.08
	}
	c.ellipse(cx+0.035*s+0.3*(hw-0.13*s), cy+0.12*s, hw, 0.11*s, 0.22, 0.012)

	c.paint(cx-0.5*s, cy+0.1, cx+0.5*s, 1, 0.14, func(x, y float64) float64 {
		u := (x - cx) / (0.3 * s)
		dome := cy + 0.24*s + 0.05*u*u
		return soft(dome-y, 0.02) * soft(math.Abs(u)-1.45, 0.15)
	})
}

// drawRibs draws posterior rib arcs across each hemithorax (a fracture
// breaks one: a gap and a displaced lateral fragment) and the clavicles.
func (ch *chest) drawRibs() {
	c, s, cx, cy, p := ch.c, ch.s, ch.cx, ch.cy, ch.p
	broken := -1
	if ch.amp(Fracture) > 0 {
		broken = 3 + ch.rng.IntN(4)
	}
	for k := range 2 {
		for r := range 10 {
			y0 := cy - 0.25*s + float64(r)*0.052*s
			thick := 0.011 * s
			c.paint(cx+min(side(k)*0.02*s, side(k)*0.38*s), y0-0.05, cx+max(side(k)*0.02*s, side(k)*0.38*s), y0+0.09, 0.09,
				func(x, y float64) float64 {
					t := (x - cx) * side(k) / (0.36 * s)
					if t < 0.05 || t > 1 {
						return 0
					}
					yr := y0 + 0.07*s*t*t - 0.03*s*t
					if r == broken && k == p.Side {
						if t > 0.52 && t < 0.58 {
							return 0
						}
						if t >= 0.58 {
							yr += 0.01 * ch.amp(Fracture)
						}
					}
					return soft(math.Abs(y-yr)-thick/2, thick/2)
				})
		}
	}
	clavY := cy - 0.30*s
	if p.AP {
		clavY -= 0.03
	}
	for k := range 2 {
		c.line(cx+side(k)*0.03, clavY+0.02, cx+side(k)*0.28*s, clavY-0.02, 0.018, 0.22)
	}
}

// drawSigns draws the sign of each positive or uncertain label, in a fixed
// order (the order of the draws from rng).
func (ch *chest) drawSigns() {
	for _, sign := range []struct {
		label int
		draw  func(a float64)
	}{
		{PleuralEffusion, ch.effusion},
		{Pneumothorax, ch.pneumothorax},
		{Consolidation, ch.consolidation},
		{Pneumonia, ch.pneumonia},
		{LungOpacity, ch.lungOpacity},
		{Edema, ch.edema},
		{Atelectasis, ch.atelectasis},
		{LungLesion, ch.lungLesion},
		{PleuralOther, ch.pleuralOther},
		{SupportDevices, ch.supportDevices},
	} {
		if a := ch.amp(sign.label); a > 0 {
			sign.draw(a)
		}
	}
}

// effusion: fluid at the base whose meniscus rises along the lateral wall;
// it blunts the costophrenic angle (on the patient's side, and on the other
// side 40% of the time).
func (ch *chest) effusion(a float64) {
	for k := range 2 {
		if k != ch.p.Side && ch.rng.Float64() < 0.6 {
			continue
		}
		l := ch.lungs[k]
		level := l.cy + l.ry*0.5
		ch.c.paint(l.cx-l.rx-0.02, level-0.15, l.cx+l.rx+0.02, l.cy+l.ry+0.05, 0.28*a, func(x, y float64) float64 {
			lat := math.Abs(x-(l.cx-side(k)*l.rx)) / (2 * l.rx) // 0 at the lateral wall
			surface := level - 0.12*math.Max(0, 1-2*lat)*math.Max(0, 1-2*lat)
			return soft(surface-y, 0.02) * l.inside(x, y)
		})
	}
}

// pneumothorax: a lucent rim at the apex and lateral wall without
// markings, with a thin visceral pleural line.
func (ch *chest) pneumothorax(a float64) {
	L, sd := ch.lungs[ch.p.Side], side(ch.p.Side)
	ch.c.paint(L.cx-L.rx-0.02, L.cy-L.ry-0.02, L.cx+L.rx+0.02, L.cy+0.1, -0.09*a, func(x, y float64) float64 {
		in := L.inside(x, y)
		inner := lung{L.cx + sd*0.025, L.cy + 0.04, L.rx * 0.82, L.ry * 0.85}.inside(x, y)
		return in * (1 - inner)
	})
	for t := -1.0; t < 0.3; t += 0.1 {
		x := L.cx + sd*0.025 + math.Sin(t)*L.rx*0.82*-sd
		y := L.cy + 0.04 - math.Cos(t)*L.ry*0.85
		ch.c.blob(x, y, 0.004, 0.05*a)
	}
}

func (ch *chest) consolidation(a float64) {
	L, rng := ch.lungs[ch.p.Side], ch.rng
	bx, by := L.cx+(rng.Float64()-0.5)*L.rx, L.cy+L.ry*(0.1+0.4*rng.Float64())
	for range 6 {
		ch.c.blob(bx+(rng.Float64()-0.5)*0.08, by+(rng.Float64()-0.5)*0.06, 0.03, 0.22*a)
	}
}

// pneumonia: on the other side than the unilateral signs.
func (ch *chest) pneumonia(a float64) {
	l, rng := ch.lungs[1-ch.p.Side], ch.rng
	bx, by := l.cx, l.cy+l.ry*0.35
	for range 4 {
		ch.c.blob(bx+(rng.Float64()-0.5)*0.06, by+(rng.Float64()-0.5)*0.05, 0.025, 0.2*a)
	}
}

func (ch *chest) lungOpacity(a float64) {
	for range 5 {
		l := ch.lungs[ch.rng.IntN(2)]
		ch.c.blob(l.cx+(ch.rng.Float64()-0.5)*l.rx, l.cy+(ch.rng.Float64()-0.2)*l.ry, 0.04, 0.10*a)
	}
}

// edema: a perihilar "bat wing" haze.
func (ch *chest) edema(a float64) {
	for k, l := range ch.lungs {
		ch.c.blob(l.cx+side(k)*0.4*l.rx, l.cy+0.02, 0.07, 0.16*a)
	}
}

func (ch *chest) atelectasis(a float64) {
	l := ch.lungs[ch.rng.IntN(2)]
	y := l.cy + l.ry*0.55
	ch.c.line(l.cx-0.6*l.rx, y, l.cx+0.6*l.rx, y+0.02, 0.012, 0.22*a)
}

func (ch *chest) lungLesion(a float64) {
	l := ch.lungs[ch.rng.IntN(2)]
	ch.c.ellipse(l.cx+(ch.rng.Float64()-0.5)*l.rx, l.cy-l.ry*0.3*ch.rng.Float64(), 0.022, 0.022, 0.28*a, 0.004)
}

func (ch *chest) pleuralOther(a float64) {
	L := ch.lungs[ch.p.Side]
	ch.c.paint(L.cx-L.rx-0.02, L.cy-L.ry, L.cx+L.rx+0.02, L.cy+L.ry, 0.18*a, func(x, y float64) float64 {
		in := L.inside(x, y)
		return in * (1 - lung{L.cx, L.cy, L.rx - 0.012, L.ry - 0.01}.inside(x, y))
	})
}

// supportDevices: endotracheal and nasogastric tubes, a central line or a
// pacemaker with leads. Sizes are real ones on MIMIC-CXR's detector
// (2544x3056 pixels of 0.139 mm: 354x425 mm): an adult endotracheal tube
// ~10 mm across (its walls 0.028 of the width apart), a pacemaker
// generator ~50x45 mm (0.14x0.105 of the width and height).
func (ch *chest) supportDevices(a float64) {
	c, s, cx, cy := ch.c, ch.s, ch.cx, ch.cy
	switch ch.rng.IntN(3) {
	case 0: // endotracheal + nasogastric tubes
		c.line(cx-0.014, 0, cx-0.014, cy-0.12*s, 0.006, 0.5*a)
		c.line(cx+0.014, 0, cx+0.014, cy-0.12*s, 0.006, 0.5*a)
		c.polyline([][2]float64{{cx + 0.02, 0}, {cx + 0.025, cy}, {cx + 0.08, cy + 0.32*s}}, 0.005, 0.45*a)
	case 1: // right internal jugular central line
		c.polyline([][2]float64{{cx - 0.1, 0.02}, {cx - 0.07, cy - 0.25*s}, {cx - 0.04, cy - 0.05}}, 0.005, 0.5*a)
	default: // pacemaker with leads
		px, py := cx+0.25*s, cy-0.25*s
		c.ellipse(px, py, 0.07, 0.053, 0.7*a, 0.003)
		c.polyline([][2]float64{{px, py}, {cx + 0.1, cy - 0.2*s}, {cx + 0.03, cy + 0.05}, {cx + 0.06, cy + 0.18*s}}, 0.004, 0.5*a)
	}
}

// render upsamples the density map bilinearly onto a full-resolution
// canvas, draws the thin strokes there, applies exposure, and adds quantum
// noise at full resolution.
func (c *canvas) render(noiseSeed uint64, w, h int, exposure float64) *image.Gray {
	f := &canvas{w: w, h: h, d: make([]float32, w*h), full: true}
	fx, fy := float64(c.w)/float64(w), float64(c.h)/float64(h)
	for y := range h {
		sy := max(0, (float64(y)+0.5)*fy-0.5)
		j0 := min(int(sy), c.h-1)
		j1 := min(j0+1, c.h-1)
		ty := float32(sy - float64(j0))
		row := f.d[y*w:]
		for x := range w {
			sx := max(0, (float64(x)+0.5)*fx-0.5)
			i0 := min(int(sx), c.w-1)
			i1 := min(i0+1, c.w-1)
			tx := float32(sx - float64(i0))
			top := c.d[j0*c.w+i0]*(1-tx) + c.d[j0*c.w+i1]*tx
			bot := c.d[j1*c.w+i0]*(1-tx) + c.d[j1*c.w+i1]*tx
			row[x] = top*(1-ty) + bot*ty
		}
	}
	for _, draw := range c.fine {
		draw(f)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	noise := &noise{s: noiseSeed}
	for y := range h {
		src, row := f.d[y*w:(y+1)*w], img.Pix[y*img.Stride:]
		for x, d := range src {
			row[x] = tone((float64(d)*exposure + noise.next()*0.018) * gain)
		}
	}
	return img
}

// The detector: signal = density × exposure × gain, then the tone curve,
// linear up to toneKnee with a smooth shoulder above it (a film's or a
// detector LUT's, not a hard clip: on a well-penetrated film the spine and
// lines and tubes stay visible through the heart and mediastinum) and gamma
// 0.8.
const (
	gain      = 1.25
	toneKnee  = 0.6
	toneMax   = 3.0 // signals above it are white
	toneSteps = 8192
)

// tone maps a detector signal to 8-bit gray.
func tone(v float64) uint8 { return toneCurve[int(max(0, min(toneMax, v))/toneMax*(toneSteps-1))] }

var toneCurve = func() (lut [toneSteps]uint8) {
	for i := range lut {
		x := float64(i) / (toneSteps - 1) * toneMax
		if x > toneKnee {
			x = toneKnee + (1-toneKnee)*math.Tanh((x-toneKnee)/(1-toneKnee))
		}
		lut[i] = uint8(255*math.Pow(x, 0.8) + 0.5)
	}
	return lut
}()

// noise is a fast approximately Gaussian generator (sum of uniforms from a
// xorshift stream), deterministic per image.
type noise struct{ s uint64 }

func (n *noise) next() float64 {
	var sum float64
	for range 3 {
		n.s ^= n.s << 13
		n.s ^= n.s >> 7
		n.s ^= n.s << 17
		sum += float64(n.s>>11) / (1 << 53)
	}
	return (sum - 1.5) * 2 // ~ unit variance
}
