// Package corpus generates deterministic test and benchmark documents for
// the tokenizer: radiology-report-like prose mixed (optionally) with
// whitespace runs, emoji, CJK and other scripts, and invalid UTF-8.
// Documents never contain '\n', so that spm_encode (one sentence per line)
// sees each as one sentence.
package corpus

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

var words = strings.Fields(`FINDINGS: IMPRESSION: COMPARISON: TECHNIQUE: HISTORY: INDICATION:
the patient was seen for chest pain there is a no acute intracranial hemorrhage mass effect
or midline shift hypodense lesion in segment of liver measuring cm mm unchanged from prior
study mild moderate severe degenerative changes lumbar spine with disc space narrowing at
L4-L5 and L5-S1 lungs are clear bilaterally without focal consolidation pleural effusion
pneumothorax cardiomediastinal silhouette within normal limits osseous structures intact
contrast-enhanced CT abdomen pelvis MRI brain T2/FLAIR hyperintensity periventricular white
matter consistent chronic small vessel ischemic disease s/p cholecystectomy post-operative
right left upper lower lobe nodule ground-glass opacity recommend follow-up months per
Fleischner Society guidelines BI-RADS category benign-appearing calcifications ultrasound
Doppler echogenic hepatomegaly splenomegaly lymphadenopathy axial coronal sagittal images
obtained following administration of intravenous iodinated material (series image)
[redacted] Dr. electronically signed by attending radiologist MD, PhD. e.g. i.e. vs. approx.`)

var exotic = []string{
	"Größe", "naïve", "café", "Ærø", "façade", "São", "Øresund", "µm", "±", "≥", "≤", "°C", "×", "→", "½",
	"肺部结节", "右肺上叶", "胸部CT", "镇", "腫瘍", "폐결절", "الرئة", "лёгкое", "πνεύμονας", "फेफड़े", "ปอด",
	"🦙", "😀", "👩‍⚕️", "🇩🇪", "🫁", "𝔸𝔹", "𠀀", "Ꙋ", "™", "©", "§", "¶", "…", "“quoted”", "‘x’", "—", "–",
	"\u2581", "\u2581\u2581", "\u00a0", "\u3000", "\u200b", "\ufeff", "\ufffd", "\x01", "\x1b[0m", "\x7f",
	"<s>", "</s>", "<unk>", "<0x41>", "▁the", "\t", "\t\t", "\v", "\f", "\r",
}

var invalid = []string{
	"\xff", "\xfe", "\xc0\xaf", "\xc1\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xe2\x96", "\xe2",
	"\xf0\x9f\xa6", "\xf0\x9f", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\x80", "\xbf\xbf",
	"\xe0\x80\x80", "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "a\xffb", "\xce", "\xc3\x28",
}

// Kind selects the document mix.
type Kind int

const (
	// Reports is realistic report text: words, numbers, punctuation,
	// occasional double spaces and tabs, a few non-ASCII characters.
	Reports Kind = iota
	// Mixed adds long whitespace runs (up to 40 spaces), emoji, many
	// scripts, control characters and invalid UTF-8.
	Mixed
	// Sentences is Reports text cut into short documents (5-24 words).
	Sentences
)

// Docs returns n deterministic documents.
func Docs(seed uint64, n int, kind Kind) []string {
	r := rand.New(rand.NewPCG(seed, 0x6d656466))
	out := make([]string, n)
	var b strings.Builder
	for i := range out {
		b.Reset()
		nw := 5 + r.IntN(120)
		if r.IntN(20) == 0 {
			nw = 400 + r.IntN(400)
		}
		if kind == Sentences {
			nw = 5 + r.IntN(20)
		}
		if kind == Mixed && r.IntN(8) == 0 {
			b.WriteString(strings.Repeat(" ", 1+r.IntN(5)))
		}
		for w := 0; w < nw; w++ {
			if w > 0 {
				b.WriteString(sep(r, kind))
			}
			b.WriteString(token(r, kind))
		}
		if kind == Mixed && r.IntN(8) == 0 {
			b.WriteString(strings.Repeat(" ", 1+r.IntN(5)))
		}
		out[i] = b.String()
	}
	return out
}

func sep(r *rand.Rand, kind Kind) string {
	x := r.IntN(100)
	switch {
	case x < 88:
		return " "
	case x < 92:
		return "  "
	case x < 94:
		return "\t"
	case x < 96:
		return ", "
	case kind != Mixed:
		return ". "
	case x < 98:
		return strings.Repeat(" ", 3+r.IntN(38)) // includes runs of 17+ spaces
	default:
		return exotic[r.IntN(len(exotic))]
	}
}

func token(r *rand.Rand, kind Kind) string {
	x := r.IntN(100)
	switch {
	case x < 80:
		w := words[r.IntN(len(words))]
		if r.IntN(10) == 0 {
			w = strings.ToUpper(w)
		}
		if r.IntN(12) == 0 {
			w += []string{".", ",", ":", ";", ")", "?"}[r.IntN(6)]
		}
		return w
	case x < 90:
		switch r.IntN(4) {
		case 0:
			return strconv.Itoa(r.IntN(100000))
		case 1:
			return strconv.FormatFloat(r.Float64()*20, 'f', 1, 64) + " x " + strconv.FormatFloat(r.Float64()*20, 'f', 1, 64) + " cm"
		case 2:
			return "20" + strconv.Itoa(10+r.IntN(15)) + "-0" + strconv.Itoa(1+r.IntN(9)) + "-1" + strconv.Itoa(r.IntN(10))
		default:
			return "(" + strconv.Itoa(r.IntN(50)) + "%)"
		}
	case kind != Mixed || x < 96:
		return exotic[r.IntN(20)] // mostly Latin-1 / symbols / CJK
	case x < 98:
		return exotic[r.IntN(len(exotic))]
	default:
		return invalid[r.IntN(len(invalid))]
	}
}
