package imaging

import "math"

// The resampler. Reduction (source side longer than the resized side) is
// an exact area average (box filter): each output pixel is the mean of the
// source area it covers, partial pixels weighted by their covered
// fraction. Enlargement (an image smaller than Size) is bilinear, pixel
// centers aligned. Both are separable (rows, then columns) and use 14-bit
// fixed-point weights with an 8-bit-fraction intermediate, so the result
// is within 1 gray level of the same filter in exact arithmetic.

const (
	wBits = 14 // weight precision: weights of one output pixel sum to 1<<wBits
	iBits = 8  // fraction bits kept between the two passes
)

// axis is the filter of one direction: output i reads taps source pixels
// from first[i] with weights w[i*taps:(i+1)*taps].
type axis struct {
	first []int
	w     []int32
	taps  int
}

// geometry places the resized image: the output span [dst0, dst0+count)
// shows resized pixels [src0, src0+count) of a resized side of length rlen.
type span struct{ rlen, src0, dst0, count int }

// fitSpans maps a w×h image onto n×n with fit.
func fitSpans(w, h, n int, fit Fit) (sx, sy span) {
	scaled := func(side, ref int) int { // side*n/ref, rounded, at least 1
		return max(1, int(math.Round(float64(side)*float64(n)/float64(ref))))
	}
	var rw, rh int
	if fit == Cover {
		if w <= h {
			rw, rh = n, max(n, scaled(h, w))
		} else {
			rw, rh = max(n, scaled(w, h)), n
		}
		return span{rw, (rw - n) / 2, 0, n}, span{rh, (rh - n) / 2, 0, n}
	}
	if w >= h {
		rw, rh = n, min(n, scaled(h, w))
	} else {
		rw, rh = min(n, scaled(w, h)), n
	}
	return span{rw, 0, (n - rw) / 2, rw}, span{rh, 0, (n - rh) / 2, rh}
}

// newAxis builds the filter taking a source side of srcLen pixels to a
// resized side of dstLen, for resized pixels [start, start+count).
func newAxis(srcLen, dstLen, start, count int) axis {
	s := float64(srcLen) / float64(dstLen)
	a := axis{first: make([]int, count)}
	type tapw struct {
		j int
		w []float64
	}
	fw := make([]tapw, count)
	for i := range count {
		o := float64(start + i)
		if s >= 1 { // area average
			lo, hi := o*s, (o+1)*s
			j0, j1 := int(math.Floor(lo)), min(srcLen, int(math.Ceil(hi)))
			ws := make([]float64, 0, j1-j0)
			for j := j0; j < j1; j++ {
				ws = append(ws, (math.Min(float64(j+1), hi)-math.Max(float64(j), lo))/s)
			}
			fw[i] = tapw{j0, ws}
		} else { // bilinear
			x := (o+0.5)*s - 0.5
			j0 := int(math.Floor(x))
			f := x - float64(j0)
			switch {
			case srcLen == 1:
				j0, f = 0, 0
			case j0 < 0:
				j0, f = 0, 0
			case j0 >= srcLen-1:
				j0, f = srcLen-2, 1
			}
			fw[i] = tapw{j0, []float64{1 - f, f}}
		}
		a.taps = max(a.taps, len(fw[i].w))
	}
	a.taps = min(a.taps, srcLen)
	a.w = make([]int32, count*a.taps)
	for i, t := range fw {
		j, ws := t.j, t.w
		for len(ws) > a.taps { // only bilinear on a 1-pixel side: drop the zero tap
			ws = ws[:a.taps]
		}
		if j+a.taps > srcLen { // keep every tap inside the source: shift left, zero weights first
			pad := j + a.taps - srcLen
			j -= pad
			ws = append(make([]float64, pad), ws...)[:a.taps]
		}
		a.first[i] = j
		row := a.w[i*a.taps : (i+1)*a.taps]
		sum, big := int32(0), 0
		for k, v := range ws {
			row[k] = int32(math.Round(v * (1 << wBits)))
			sum += row[k]
			if row[k] > row[big] {
				big = k
			}
		}
		row[big] += 1<<wBits - sum // exact unit sum
	}
	return a
}

// plan is the resampling of one source size to n×n.
type plan struct {
	sx, sy span
	ax, ay axis
}

func newPlan(w, h, n int, fit Fit) *plan {
	sx, sy := fitSpans(w, h, n, fit)
	return &plan{sx: sx, sy: sy, ax: newAxis(w, sx.rlen, sx.src0, sx.count), ay: newAxis(h, sy.rlen, sy.src0, sy.count)}
}

func (pl *plan) resize(g gray, dst []byte, n int, pad uint8, tmp []uint16) []uint16 {
	sx, sy, ax, ay := pl.sx, pl.sy, &pl.ax, &pl.ay
	if sx.count < n || sy.count < n {
		for i := range dst {
			dst[i] = pad
		}
	}
	y0 := ay.first[0]
	y1 := ay.first[len(ay.first)-1] + ay.taps
	cw := sx.count
	if need := (y1 - y0) * cw; cap(tmp) < need {
		tmp = make([]uint16, need)
	}
	tmp = tmp[:(y1-y0)*cw]

	// Rows: source rows y0..y1 → cw columns, value<<iBits.
	const hRound, hShift = 1 << (wBits - iBits - 1), wBits - iBits
	taps := ax.taps
	for y := y0; y < y1; y++ {
		src := g.pix[y*g.w : (y+1)*g.w]
		out := tmp[(y-y0)*cw : (y-y0+1)*cw]
		switch taps {
		case 1:
			for x := range out {
				out[x] = uint16(int32(src[ax.first[x]]) << iBits)
			}
		case 2:
			for x := range out {
				j, w := ax.first[x], ax.w[2*x:2*x+2]
				s := w[0]*int32(src[j]) + w[1]*int32(src[j+1])
				out[x] = uint16((s + hRound) >> hShift)
			}
		case 3:
			for x := range out {
				j, w := ax.first[x], ax.w[3*x:3*x+3]
				s := w[0]*int32(src[j]) + w[1]*int32(src[j+1]) + w[2]*int32(src[j+2])
				out[x] = uint16((s + hRound) >> hShift)
			}
		default:
			for x := range out {
				j, w := ax.first[x], ax.w[taps*x:taps*x+taps]
				p := src[j : j+taps]
				var s int32
				for k, wk := range w {
					s += wk * int32(p[k])
				}
				out[x] = uint16((s + hRound) >> hShift)
			}
		}
	}

	// Columns: cw-wide rows of tmp → dst rows, rounded to 8 bits. Sums
	// stay below 255<<(iBits+wBits) < 1<<31.
	const vRound, vShift = 1 << (wBits + iBits - 1), wBits + iBits
	acc := make([]int32, cw)
	for i := range sy.count {
		w := ay.w[i*ay.taps : (i+1)*ay.taps]
		base := (ay.first[i] - y0) * cw
		clear(acc)
		for k, wk := range w {
			if wk == 0 {
				continue
			}
			row := tmp[base+k*cw : base+(k+1)*cw]
			for x, v := range row {
				acc[x] += wk * int32(v)
			}
		}
		out := dst[(sy.dst0+i)*n+sx.dst0 : (sy.dst0+i)*n+sx.dst0+cw]
		for x, s := range acc {
			out[x] = uint8(min((s+vRound)>>vShift, 255))
		}
	}
	return tmp
}
