package mimic

import (
	"fmt"
	"sort"
	"strings"
)

// NumLabels is the number of CheXpert/NegBio labels.
const NumLabels = 14

// LabelNames are the 14 label columns of mimic-cxr-2.0.0-chexpert.csv and
// -negbio.csv, in the order used everywhere in medflow (alphabetical, as
// the files list them).
var LabelNames = [NumLabels]string{
	"Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum",
	"Fracture", "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion",
	"Pleural Other", "Pneumonia", "Pneumothorax", "Support Devices",
}

// LabelIndex returns the position of a label name in LabelNames, or -1.
func LabelIndex(name string) int {
	for i, n := range LabelNames {
		if n == name {
			return i
		}
	}
	return -1
}

// Label is one raw label value as the labeler wrote it.
type Label int8

const (
	// Blank: the label was not mentioned (empty cell).
	Blank Label = iota
	// Negative: 0.0.
	Negative
	// Positive: 1.0.
	Positive
	// Uncertain: -1.0.
	Uncertain
)

func (l Label) String() string {
	switch l {
	case Blank:
		return "blank"
	case Negative:
		return "0.0"
	case Positive:
		return "1.0"
	case Uncertain:
		return "-1.0"
	}
	return fmt.Sprintf("Label(%d)", int8(l))
}

// ParseLabel reads a label cell: "" (blank), "1.0", "0.0", "-1.0" and the
// same numbers without the decimal part ("1", "0", "-1", "-0", "1.00").
// Anything else ("2.0", "yes", "nan") is an error.
func ParseLabel(s string) (Label, error) {
	switch s {
	case "":
		return Blank, nil
	case "1.0", "1":
		return Positive, nil
	case "0.0", "0", "-0.0", "-0":
		return Negative, nil
	case "-1.0", "-1":
		return Uncertain, nil
	}
	// Rare spellings such as "1.00".
	t := strings.TrimRight(s, "0")
	if len(t) == len(s) {
		t = "" // no trailing zero after the point: not a spelling we know
	}
	switch t {
	case "1.":
		return Positive, nil
	case "0.", "-0.":
		return Negative, nil
	case "-1.":
		return Uncertain, nil
	}
	return 0, fmt.Errorf("unknown label value %q (want 1.0, 0.0, -1.0 or empty)", s)
}

// Treatment says how a label value becomes a training target.
type Treatment uint8

const (
	// Zeros maps the value to 0 (negative), mask 1.
	Zeros Treatment = iota
	// Ones maps the value to 1 (positive), mask 1.
	Ones
	// Ignore maps the value to 0 with mask 0: the label is left out of the
	// loss and the metrics for that image.
	Ignore
)

func (t Treatment) String() string { return [...]string{"zeros", "ones", "ignore"}[t] }

// ParseTreatment parses "zeros", "ones" or "ignore".
func ParseTreatment(s string) (Treatment, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "zeros", "zero":
		return Zeros, nil
	case "ones", "one":
		return Ones, nil
	case "ignore":
		return Ignore, nil
	}
	return 0, fmt.Errorf("unknown label treatment %q (want ones, zeros or ignore)", s)
}

// Policy turns raw labels into targets and masks. Positive is always 1
// and Negative 0, both with mask 1. Uncertain (-1.0) follows Uncertain[i]
// per label; Blank (not mentioned) follows Blank, which may not be Ones.
//
// The zero Policy is U-Zeros with blanks as negatives, the usual
// CheXpert-style training setup.
type Policy struct {
	Uncertain [NumLabels]Treatment
	Blank     Treatment
}

// UniformPolicy treats every uncertain label the same way.
func UniformPolicy(uncertain, blank Treatment) Policy {
	p := Policy{Blank: blank}
	for i := range p.Uncertain {
		p.Uncertain[i] = uncertain
	}
	return p
}

// ParsePolicy builds a Policy from config values. uncertain is a string
// ("ones", "zeros", "ignore") or a map from label name to one of those,
// where the key "default" (default: zeros) covers labels not named; blank
// is "zeros" or "ignore" ("" means zeros).
func ParsePolicy(uncertain any, blank string) (Policy, error) {
	var p Policy
	if blank != "" {
		b, err := ParseTreatment(blank)
		if err != nil {
			return p, fmt.Errorf("blank: %w", err)
		}
		if b == Ones {
			return p, fmt.Errorf("blank: %q is not allowed (a label that is not mentioned is not a finding); want zeros or ignore", blank)
		}
		p.Blank = b
	}
	switch u := uncertain.(type) {
	case nil:
	case string:
		t, err := ParseTreatment(u)
		if err != nil {
			return p, fmt.Errorf("uncertain: %w", err)
		}
		for i := range p.Uncertain {
			p.Uncertain[i] = t
		}
	case map[string]any:
		keys := make([]string, 0, len(u))
		for k := range u {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if d, ok := u["default"]; ok {
			s, ok := d.(string)
			t, err := ParseTreatment(s)
			if !ok || err != nil {
				return p, fmt.Errorf("uncertain.default: want ones, zeros or ignore, got %v", d)
			}
			for i := range p.Uncertain {
				p.Uncertain[i] = t
			}
		}
		for _, k := range keys {
			if k == "default" {
				continue
			}
			i := LabelIndex(k)
			if i < 0 {
				return p, fmt.Errorf("uncertain: unknown label %q (labels: %s)", k, strings.Join(LabelNames[:], ", "))
			}
			s, ok := u[k].(string)
			t, err := ParseTreatment(s)
			if !ok || err != nil {
				return p, fmt.Errorf("uncertain.%s: want ones, zeros or ignore, got %v", k, u[k])
			}
			p.Uncertain[i] = t
		}
	default:
		return p, fmt.Errorf("uncertain: want a string or a map of label to treatment, got %T", uncertain)
	}
	return p, nil
}

// Apply returns the targets and masks (1 = use, 0 = ignore) for raw labels.
func (p *Policy) Apply(raw *[NumLabels]Label) (vals [NumLabels]float32, mask [NumLabels]uint8) {
	for i, l := range raw {
		t := Zeros
		switch l {
		case Positive:
			t = Ones
		case Negative:
		case Uncertain:
			t = p.Uncertain[i]
		case Blank:
			t = p.Blank
		}
		switch t {
		case Ones:
			vals[i], mask[i] = 1, 1
		case Zeros:
			vals[i], mask[i] = 0, 1
		case Ignore:
			vals[i], mask[i] = 0, 0
		}
	}
	return vals, mask
}
