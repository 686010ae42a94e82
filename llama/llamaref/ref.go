package llamaref

import (
	"fmt"
	"math"

	"github.com/medflow/medflow/llama"
)

// RMSNorm returns x / sqrt(mean(x²) + eps) * w.
func RMSNorm(x []float64, w []float32, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	inv := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * inv * float64(w[i])
	}
	return out
}

// Rope rotates one head vector x (even length hd) for position pos in the
// rotate_half convention: out = x·cos + rotate_half(x)·sin with
// rotate_half(x) = [-x[hd/2:], x[:hd/2]] and angle(i) = pos·theta^(-2(i mod hd/2)/hd).
func Rope(x []float64, pos int, theta float64) []float64 {
	hd := len(x)
	half := hd / 2
	out := make([]float64, hd)
	for i := 0; i < hd; i++ {
		j := i % half
		a := float64(pos) * math.Pow(theta, -2*float64(j)/float64(hd))
		var rot float64
		if i < half {
			rot = -x[i+half]
		} else {
			rot = x[i-half]
		}
		out[i] = x[i]*math.Cos(a) + rot*math.Sin(a)
	}
	return out
}

// Attention is one head of scaled dot-product attention: q, k, v are
// [seq][hd]; allowed(i, j) says whether query i may see key j. Disallowed
// scores get llama.MaskValue added (not -Inf), as in the ONNX graph.
func Attention(q, k, v [][]float64, allowed func(i, j int) bool) [][]float64 {
	seq := len(q)
	out := make([][]float64, seq)
	scores := make([]float64, len(k))
	for i := 0; i < seq; i++ {
		hd := len(q[i])
		scale := 1 / math.Sqrt(float64(hd))
		mx := math.Inf(-1)
		for j := range k {
			var s float64
			for d := 0; d < hd; d++ {
				s += q[i][d] * k[j][d]
			}
			s *= scale
			if !allowed(i, j) {
				s += llama.MaskValue
			}
			scores[j] = s
			mx = math.Max(mx, s)
		}
		var sum float64
		for j := range scores {
			scores[j] = math.Exp(scores[j] - mx)
			sum += scores[j]
		}
		o := make([]float64, len(v[0]))
		for j := range v {
			p := scores[j] / sum
			for d := range o {
				o[d] += p * v[j][d]
			}
		}
		out[i] = o
	}
	return out
}

// SiLU is x·sigmoid(x).
func SiLU(x float64) float64 { return x / (1 + math.Exp(-x)) }

// linear returns x·Wᵀ for W [out, in] row-major.
func linear(x []float64, w llama.Tensor) []float64 {
	out, in := w.Shape[0], w.Shape[1]
	y := make([]float64, out)
	for o := 0; o < out; o++ {
		row := w.Data[o*in : (o+1)*in]
		var s float64
		for i, v := range row {
			s += x[i] * float64(v)
		}
		y[o] = s
	}
	return y
}

// Forward runs the model on a batch of token ids [batch][seq] with
// attention_mask [batch][seq] (1 real token, 0 padding) and returns the last
// hidden state [batch][seq][dim]. It panics on inputs that do not fit cfg
// and w (ragged rows, ids out of range, missing weights): it is a test helper.
func Forward(cfg llama.Config, w llama.Weights, ids [][]int64, mask [][]int64) [][][]float32 {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if err := w.Check(cfg); err != nil {
		panic(err)
	}
	if len(mask) != len(ids) {
		panic(fmt.Sprintf("llamaref: %d id rows, %d mask rows", len(ids), len(mask)))
	}
	out := make([][][]float32, len(ids))
	for b := range ids {
		if len(mask[b]) != len(ids[b]) {
			panic(fmt.Sprintf("llamaref: row %d: %d ids, %d mask values", b, len(ids[b]), len(mask[b])))
		}
		out[b] = forwardRow(cfg, w, ids[b], mask[b])
	}
	return out
}

func forwardRow(cfg llama.Config, w llama.Weights, ids, mask []int64) [][]float32 {
	seq, dim, hd := len(ids), cfg.Dim, cfg.HeadDim()
	if seq > cfg.MaxSeq {
		panic(fmt.Sprintf("llamaref: sequence %d longer than max_seq %d", seq, cfg.MaxSeq))
	}
	emb := w[llama.Embed]
	x := make([][]float64, seq)
	for s, id := range ids {
		if id < 0 || int(id) >= cfg.Vocab {
			panic(fmt.Sprintf("llamaref: token id %d out of range [0, %d)", id, cfg.Vocab))
		}
		x[s] = make([]float64, dim)
		for d := 0; d < dim; d++ {
			x[s][d] = float64(emb.Data[int(id)*dim+d])
		}
	}
	allowed := func(i, j int) bool { return j <= i && mask[j] != 0 }
	rep := cfg.Heads / cfg.KVHeads
	for l := 0; l < cfg.Layers; l++ {
		p := func(s string) llama.Tensor { return w[llama.LayerName(l, s)] }
		q := make([][][]float64, cfg.Heads) // [head][seq][hd]
		k := make([][][]float64, cfg.KVHeads)
		v := make([][][]float64, cfg.KVHeads)
		for h := range q {
			q[h] = make([][]float64, seq)
		}
		for h := range k {
			k[h], v[h] = make([][]float64, seq), make([][]float64, seq)
		}
		for s := 0; s < seq; s++ {
			h := RMSNorm(x[s], p(llama.InputNorm).Data, cfg.NormEps)
			qs, ks, vs := linear(h, p(llama.QProj)), linear(h, p(llama.KProj)), linear(h, p(llama.VProj))
			for hh := 0; hh < cfg.Heads; hh++ {
				q[hh][s] = Rope(qs[hh*hd:(hh+1)*hd], s, cfg.RopeTheta)
			}
			for hh := 0; hh < cfg.KVHeads; hh++ {
				k[hh][s] = Rope(ks[hh*hd:(hh+1)*hd], s, cfg.RopeTheta)
				v[hh][s] = vs[hh*hd : (hh+1)*hd]
			}
		}
		att := make([][]float64, seq)
		for s := range att {
			att[s] = make([]float64, cfg.Heads*hd)
		}
		for hh := 0; hh < cfg.Heads; hh++ {
			o := Attention(q[hh], k[hh/rep], v[hh/rep], allowed)
			for s := range o {
				copy(att[s][hh*hd:], o[s])
			}
		}
		for s := 0; s < seq; s++ {
			o := linear(att[s], p(llama.OProj))
			for d := range o {
				x[s][d] += o[d]
			}
			h := RMSNorm(x[s], p(llama.PostNorm).Data, cfg.NormEps)
			gate, up := linear(h, p(llama.GateProj)), linear(h, p(llama.UpProj))
			for i := range gate {
				gate[i] = SiLU(gate[i]) * up[i]
			}
			down := linear(gate, p(llama.DownProj))
			for d := range down {
				x[s][d] += down[d]
			}
		}
	}
	out := make([][]float32, seq)
	for s := range x {
		h := RMSNorm(x[s], w[llama.FinalNorm].Data, cfg.NormEps)
		out[s] = make([]float32, dim)
		for d, v := range h {
			out[s][d] = float32(v)
		}
	}
	return out
}
