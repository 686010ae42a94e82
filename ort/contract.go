package ort

import (
	"fmt"
	"strings"
)

// Spec is what the caller expects of one model input or output.
type Spec struct {
	Name  string
	DType DType
	// Rank is the number of dims; < 0 accepts any rank.
	Rank int
	// Dims, when set (len Rank), fixes dims: -1 accepts anything (dynamic
	// or any size); a value >= 0 must equal the model's static dim (a
	// dynamic dim in the model is accepted; it is checked at run time).
	Dims []int64
	// Doc names the dims for error messages ("[batch, seq]").
	Doc string
}

func (s Spec) String() string {
	b := fmt.Sprintf("%q %s", s.Name, s.DType)
	switch {
	case s.Doc != "":
		b += " " + s.Doc
	case s.Dims != nil:
		b += " " + dimsString(s.Dims)
	case s.Rank >= 0:
		b += fmt.Sprintf(" rank %d", s.Rank)
	}
	return b
}

// Contract lists the inputs a pipeline feeds (all of the model's inputs,
// in the order Run takes them) and the outputs it reads (a subset, in the
// order Run returns them).
type Contract struct {
	Inputs, Outputs []Spec
}

// Info is what the model declares for one input or output.
type Info struct {
	Name  string
	DType DType
	// Dims from the model; -1 for a dynamic (symbolic) dim.
	Dims []int64
}

func (i Info) String() string { return fmt.Sprintf("%q %s %s", i.Name, i.DType, dimsString(i.Dims)) }

func dimsString(d []int64) string {
	parts := make([]string, len(d))
	for i, v := range d {
		if v < 0 {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(v)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func listInfos(in []Info) string {
	parts := make([]string, len(in))
	for i, x := range in {
		parts[i] = x.String()
	}
	return strings.Join(parts, ", ")
}

// Check compares the contract with a model's declared inputs and outputs;
// model names the file in the error. It returns every mismatch at once,
// wrapped in ErrContract.
func (c Contract) Check(model string, inputs, outputs []Info) error {
	var problems []string
	byName := func(list []Info, name string) (Info, bool) {
		for _, x := range list {
			if x.Name == name {
				return x, true
			}
		}
		return Info{}, false
	}
	check := func(kind string, s Spec, list []Info) {
		got, ok := byName(list, s.Name)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s %s: the model has no %s named %q", kind, s, kind, s.Name))
			return
		}
		var why []string
		if got.DType != s.DType {
			why = append(why, fmt.Sprintf("element type %s, want %s", got.DType, s.DType))
		}
		if s.Rank >= 0 && len(got.Dims) != s.Rank {
			why = append(why, fmt.Sprintf("rank %d, want %d", len(got.Dims), s.Rank))
		} else if s.Dims != nil && len(got.Dims) == len(s.Dims) {
			for i, w := range s.Dims {
				if w >= 0 && got.Dims[i] >= 0 && got.Dims[i] != w {
					why = append(why, fmt.Sprintf("dim %d is %d, want %d", i, got.Dims[i], w))
				}
			}
		}
		if len(why) > 0 {
			problems = append(problems, fmt.Sprintf("%s %s: model has %s (%s)", kind, s, got, strings.Join(why, "; ")))
		}
	}
	for _, s := range c.Inputs {
		check("input", s, inputs)
	}
	for _, x := range inputs {
		found := false
		for _, s := range c.Inputs {
			found = found || s.Name == x.Name
		}
		if !found {
			problems = append(problems, fmt.Sprintf("model input %s is not fed by the pipeline", x))
		}
	}
	for _, s := range c.Outputs {
		check("output", s, outputs)
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s: %s; the model has inputs [%s] and outputs [%s]", ErrContract, model,
		strings.Join(problems, "; "), listInfos(inputs), listInfos(outputs))
}
