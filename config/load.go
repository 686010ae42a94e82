package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/medflow/medflow/internal/suggest"
	"github.com/medflow/medflow/pipeline"
)

// File is a parsed and validated pipelines file. It is immutable; all
// methods are safe for concurrent use.
type File struct {
	name     string
	variants map[string]*rawVariant
	resolved map[string]*pipeline.Spec

	settings      map[string]any // nested, lower-case keys, interpolated
	settingsLines map[string]int // "log.format" -> line

	broken map[string][]error // per-variant problems (LoadEach only)
}

type rawVariant struct {
	name        string
	line        int
	description *string
	extends     string
	extendsLine int
	stages      []*rawStage
}

type rawStage struct {
	name        string
	line        int
	kind        *string
	inputs      []string
	hasInputs   bool
	inputsLine  int
	params      map[string]any
	paramLines  map[string]int  // param name -> line of its key
	redact      map[string]bool // params whose value used ${VAR}
	workers     *int
	buffer      *int
	materialize *bool
	maxErrRate  *float64
}

var (
	topKeys     = []string{"settings", "variants"}
	variantKeys = []string{"description", "extends", "stages"}
	stageKeys   = []string{"name", "kind", "inputs", "params", "workers", "buffer", "materialize", "max_error_rate"}
)

// nodeBudget bounds the number of YAML nodes visited while decoding, so that
// alias expansion ("billion laughs") cannot exhaust memory or time. A
// document without aliases has fewer nodes than bytes, so only alias and
// merge-key expansion can reach it.
func nodeBudget(size int) int { return 10_000 + 4*size }

// Load reads and parses the pipelines file at path. See Parse.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: cannot read pipelines file %q: %w", path, err)
	}
	return Parse(path, data)
}

// Parse parses a pipelines file. name is used in error messages and as
// pipeline.Spec.File. Environment variables are read with os.LookupEnv.
//
// Parse reports every problem it finds, joined with errors.Join; each is an
// *Error wrapping one of the Err* sentinels. On error the *File is nil.
func Parse(name string, data []byte) (*File, error) {
	f, el, err := parse(name, data, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if err := el.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// LoadEach is Load for tools that work on one variant at a time, like the
// CLI: a problem confined to a variant (or to a variant it extends) does
// not fail the file; Variant returns it for that variant and Errors returns
// all of them. Problems outside variants (YAML syntax, settings) still fail
// it.
func LoadEach(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: cannot read pipelines file %q: %w", path, err)
	}
	return ParseEach(path, data)
}

// ParseEach is Parse with LoadEach's per-variant error handling.
func ParseEach(name string, data []byte) (*File, error) {
	f, el, err := parse(name, data, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	var global errList
	global.file = name
	f.broken = map[string][]error{}
	for _, e := range el.errs {
		if v := e.(*Error).Variant; v != "" {
			f.broken[v] = append(f.broken[v], e)
		} else {
			global.errs = append(global.errs, e)
		}
	}
	if err := global.err(); err != nil {
		return nil, err
	}
	f.propagateBroken()
	return f, nil
}

// propagateBroken marks variants that extend a broken variant as broken.
func (f *File) propagateBroken() {
	for changed := true; changed; {
		changed = false
		for name, v := range f.variants {
			if _, bad := f.broken[name]; bad || v.extends == "" {
				continue
			}
			if _, bad := f.broken[v.extends]; bad {
				f.broken[name] = []error{&Error{File: f.name, Line: v.extendsLine, Variant: name, Key: "extends",
					Err: ErrExtends, Msg: fmt.Sprintf("extends variant %q, which is invalid", v.extends)}}
				changed = true
			}
		}
	}
}

// Errors returns every variant's problems (nil for a file from Load or
// Parse, which fail on any), sorted by line.
func (f *File) Errors() error {
	var el errList
	for _, errs := range f.broken {
		el.errs = append(el.errs, errs...)
	}
	return el.err()
}

// parse decodes data; err is a failure that stops decoding (YAML syntax),
// el every problem found in the decoded document.
func parse(name string, data []byte, lookup func(string) (string, bool)) (*File, *errList, error) {
	d := &decoder{
		el:     errList{file: name},
		lookup: lookup,
		done:   map[*yaml.Node]bool{},
		raw:    map[*yaml.Node]string{},
		budget: nodeBudget(len(data)),
	}
	f := &File{
		name:          name,
		variants:      map[string]*rawVariant{},
		resolved:      map[string]*pipeline.Spec{},
		settingsLines: map[string]int{},
	}
	root, err := readYAML(name, data)
	if err != nil {
		return nil, nil, err
	}
	if root != nil {
		d.top(f, root)
	}
	// Resolve even after decode errors, so extends problems are reported
	// too; a variant with broken stages may then report follow-on errors.
	f.resolveAll(&d.el)
	return f, &d.el, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// readYAML decodes the single document in data into a node tree; it returns
// nil for an empty document.
func readYAML(name string, data []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &Error{File: name, Err: ErrSyntax, Msg: fmt.Sprintf("invalid YAML (parser failure: %v)", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(name, err)
	default:
		return nil, &Error{File: name, Line: extra.Line, Err: ErrSyntax, Msg: "multiple YAML documents are not supported"}
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

func syntaxError(name string, err error) error {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &Error{File: name, Line: line, Err: ErrSyntax, Msg: "invalid YAML: " + msg}
}

type decoder struct {
	el     errList
	lookup func(string) (string, bool) // nil: no interpolation
	done   map[*yaml.Node]bool         // scalars already interpolated
	raw    map[*yaml.Node]string       // original text of interpolated scalars
	budget int
	over   bool                // budget exceeded, reported
	active map[*yaml.Node]bool // collections being decoded (alias cycle check)
}

type pair struct {
	key  string
	k, v *yaml.Node
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func (d *decoder) spend() bool {
	d.budget--
	if d.budget < 0 {
		if !d.over {
			d.over = true
			d.el.add(0, loc{}, ErrInvalid, "document too large after alias expansion")
		}
		return false
	}
	return true
}

// pairs returns the key/value pairs of mapping n, expanding YAML merge keys
// (<<) and reporting non-scalar and duplicate keys.
func (d *decoder) pairs(n *yaml.Node, l loc) []pair {
	return d.pairsDepth(n, l, 0)
}

func (d *decoder) pairsDepth(n *yaml.Node, l loc, depth int) []pair {
	var out, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !d.spend() {
			return out
		}
		k, v := n.Content[i], n.Content[i+1]
		kk := deref(k)
		if kk == nil || kk.Kind != yaml.ScalarNode {
			d.el.add(k.Line, l, ErrType, "mapping keys must be scalars")
			continue
		}
		if kk.ShortTag() == "!!merge" && depth < 10 {
			src := deref(v)
			var maps []*yaml.Node
			switch {
			case src == nil:
			case src.Kind == yaml.MappingNode:
				maps = append(maps, src)
			case src.Kind == yaml.SequenceNode:
				for _, m := range src.Content {
					if m = deref(m); m != nil && m.Kind == yaml.MappingNode {
						maps = append(maps, m)
					}
				}
			}
			if len(maps) == 0 {
				d.el.add(v.Line, l.with("<<"), ErrType, "merge key wants a mapping or a list of mappings")
			}
			for _, m := range maps {
				merged = append(merged, d.pairsDepth(m, l, depth+1)...)
			}
			continue
		}
		key := kk.Value
		if prev, dup := seen[key]; dup {
			d.el.add(k.Line, l.with(key), ErrDuplicate, "duplicate key (first defined on line %d)", prev)
			continue
		}
		seen[key] = k.Line
		out = append(out, pair{key: key, k: k, v: v})
	}
	for _, p := range merged {
		if _, ok := seen[p.key]; ok {
			continue
		}
		seen[p.key] = p.k.Line
		out = append(out, p)
	}
	return out
}

func (d *decoder) unknownKey(p pair, l loc, known []string) {
	d.el.add(p.k.Line, l.with(p.key), ErrUnknownKey, "unknown key%s; valid keys: %s", suggest.Hint(p.key, known), strings.Join(known, ", "))
}

// interp interpolates a scalar node in place, once, and re-resolves its tag.
func (d *decoder) interp(n *yaml.Node, l loc) bool {
	if d.lookup == nil || n.Kind != yaml.ScalarNode || d.done[n] {
		return true
	}
	d.done[n] = true
	out, used, msg := expand(n.Value, d.lookup)
	if msg != "" {
		d.el.add(n.Line, l, ErrEnv, "%s", msg)
		n.Value, n.Tag, n.Style = "", "!!null", 0
		d.raw[n] = "an invalid reference"
		return false
	}
	if out == n.Value {
		return true
	}
	if used {
		d.raw[n] = n.Value
	}
	n.Value = out
	switch {
	case n.Style&yaml.TaggedStyle != 0:
		// explicit tag (!!str ${X}) wins
	case n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		n.Tag = "!!str"
	case out == "":
		n.Tag = "!!str" // ${X:-} is the empty string, not null
	default:
		n.Tag = ""
		n.Tag = n.ShortTag() // YAML 1.2 core schema resolution of the new text
	}
	return true
}

// describe renders a value for an error message without leaking
// interpolated (possibly secret) text.
func (d *decoder) describe(n *yaml.Node) string {
	if r, ok := d.raw[n]; ok {
		if r == "an invalid reference" {
			return r
		}
		return "value of " + truncate(r, 60)
	}
	n = deref(n)
	switch {
	case n == nil:
		return "an alias"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.ShortTag() == "!!null":
		return "null"
	}
	return strconv.Quote(truncate(n.Value, 60))
}

// value converts n to the Go types documented for params.
func (d *decoder) value(n *yaml.Node, l loc) any {
	if !d.spend() {
		return nil
	}
	orig := n
	n = deref(n)
	if n == nil {
		d.el.add(orig.Line, l, ErrType, "unresolvable alias")
		return nil
	}
	if orig.Kind == yaml.AliasNode && d.active[n] {
		d.el.add(orig.Line, l, ErrInvalid, "alias *%s refers to a node that contains it (a cycle)", orig.Value)
		return nil
	}
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
		if d.active == nil {
			d.active = map[*yaml.Node]bool{}
		}
		d.active[n] = true
		defer delete(d.active, n)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		d.interp(n, l)
		return d.scalar(n, l)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			out = append(out, d.value(c, l.with(strconv.Itoa(i))))
		}
		return out
	case yaml.MappingNode:
		out := map[string]any{}
		for _, p := range d.pairs(n, l) {
			out[p.key] = d.value(p.v, l.with(p.key))
		}
		return out
	}
	d.el.add(n.Line, l, ErrType, "unsupported YAML node")
	return nil
}

func (d *decoder) scalar(n *yaml.Node, l loc) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			d.el.add(n.Line, l, ErrType, "want a boolean, got %s", d.describe(n))
			return nil
		}
		return b
	case "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			d.el.add(n.Line, l, ErrType, "want an integer, got %s", d.describe(n))
			return nil
		}
		switch x := v.(type) {
		case int:
			return x
		case int64:
			if x >= math.MinInt && x <= math.MaxInt {
				return int(x)
			}
		case uint64:
			if x <= math.MaxInt {
				return int(x)
			}
		}
		d.el.add(n.Line, l, ErrType, "integer %s out of range", d.describe(n))
		return nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			d.el.add(n.Line, l, ErrType, "want a number, got %s", d.describe(n))
			return nil
		}
		return f
	case "!!binary":
		var s string
		if err := n.Decode(&s); err != nil {
			d.el.add(n.Line, l, ErrType, "invalid base64 in %s", d.describe(n))
			return nil
		}
		return s
	}
	return n.Value // !!str, !!timestamp (kept as text), custom tags
}

// str decodes a string field: any non-null scalar, as text.
func (d *decoder) str(n *yaml.Node, l loc) (string, bool) {
	orig := n
	if n = deref(n); n == nil || n.Kind != yaml.ScalarNode {
		d.el.add(orig.Line, l, ErrType, "want a string, got %s", d.describe(orig))
		return "", false
	}
	if !d.interp(n, l) {
		return "", false
	}
	if n.ShortTag() == "!!null" {
		d.el.add(n.Line, l, ErrType, "want a string, got %s", d.describe(n))
		return "", false
	}
	return n.Value, true
}

// fraction accepts a number from 0 to 1.
func (d *decoder) fraction(n *yaml.Node, l loc) (float64, bool) {
	orig := n
	if n = deref(n); n == nil || n.Kind != yaml.ScalarNode {
		d.el.add(orig.Line, l, ErrType, "want a number from 0 to 1, got %s", d.describe(orig))
		return 0, false
	}
	if !d.interp(n, l) {
		return 0, false
	}
	var v float64
	if tag := n.ShortTag(); (tag != "!!float" && tag != "!!int") || n.Decode(&v) != nil {
		d.el.add(n.Line, l, ErrType, "want a number from 0 to 1, got %s", d.describe(n))
		return 0, false
	}
	if !(v >= 0 && v <= 1) {
		d.el.add(n.Line, l, ErrInvalid, "want a number from 0 to 1, got %s", d.describe(n))
		return 0, false
	}
	return v, true
}

func (d *decoder) boolean(n *yaml.Node, l loc) (bool, bool) {
	orig := n
	if n = deref(n); n == nil || n.Kind != yaml.ScalarNode {
		d.el.add(orig.Line, l, ErrType, "want a boolean, got %s", d.describe(orig))
		return false, false
	}
	if !d.interp(n, l) {
		return false, false
	}
	var b bool
	if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.el.add(n.Line, l, ErrType, "want a boolean (true or false), got %s", d.describe(n))
		return false, false
	}
	return b, true
}

// count decodes a non-negative integer field.
func (d *decoder) count(n *yaml.Node, l loc) (int, bool) {
	orig := n
	if n = deref(n); n == nil || n.Kind != yaml.ScalarNode {
		d.el.add(orig.Line, l, ErrType, "want an integer, got %s", d.describe(orig))
		return 0, false
	}
	if !d.interp(n, l) {
		return 0, false
	}
	var v int
	if n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.el.add(n.Line, l, ErrType, "want an integer, got %s", d.describe(n))
		return 0, false
	}
	if v < 0 {
		d.el.add(n.Line, l, ErrInvalid, "must be >= 0, got %s", d.describe(n))
		return 0, false
	}
	return v, true
}

func (d *decoder) mapping(n *yaml.Node, l loc, what string) *yaml.Node {
	orig := n
	if n = deref(n); n == nil || n.Kind != yaml.MappingNode {
		if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			return nil // empty section: fine
		}
		d.el.add(orig.Line, l, ErrType, "want a mapping (%s), got %s", what, d.describe(orig))
		return nil
	}
	return n
}

func (d *decoder) top(f *File, root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
			return
		}
		d.el.add(root.Line, loc{}, ErrSyntax, "top level must be a mapping with keys %s, got %s", strings.Join(topKeys, ", "), d.describe(root))
		return
	}
	for _, p := range d.pairs(root, loc{}) {
		switch p.key {
		case "settings":
			if m := d.mapping(p.v, loc{key: "settings"}, "settings"); m != nil {
				f.settings = d.settings(f, m, loc{key: "settings"}, "")
			}
		case "variants":
			if m := d.mapping(p.v, loc{key: "variants"}, "variant name to variant"); m != nil {
				d.variants(f, m)
			}
		default:
			if strings.HasPrefix(p.key, "x-") {
				continue // extension key, e.g. a home for YAML anchors
			}
			d.unknownKey(p, loc{}, topKeys)
		}
	}
}

func (d *decoder) variants(f *File, m *yaml.Node) {
	// pairs reports duplicate variant names as duplicate keys; re-word it.
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := deref(m.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.el.add(k.Line, loc{variant: k.Value}, ErrDuplicate, "duplicate variant name (first defined on line %d)", prev)
			continue
		}
		seen[k.Value] = k.Line
	}
	for _, p := range d.pairsQuiet(m) {
		l := loc{variant: p.key}
		if p.key == "" {
			d.el.add(p.k.Line, loc{key: "variants"}, ErrInvalid, "empty variant name")
			continue
		}
		v := &rawVariant{name: p.key, line: p.k.Line}
		f.variants[p.key] = v
		vm := d.mapping(p.v, l, "description, extends, stages")
		if vm == nil {
			if n := deref(p.v); n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
				d.el.add(v.line, l, ErrMissing, "empty variant: missing key \"stages\" (a variant needs stages or extends)")
			}
			continue
		}
		var stagesNode *yaml.Node
		for _, q := range d.pairs(vm, l) {
			switch q.key {
			case "description":
				if s, ok := d.str(q.v, l.with(q.key)); ok {
					v.description = &s
				}
			case "extends":
				if s, ok := d.str(q.v, l.with(q.key)); ok {
					v.extends, v.extendsLine = s, q.v.Line
				}
			case "stages":
				stagesNode = q.v
			default:
				d.unknownKey(q, l, variantKeys)
			}
		}
		if stagesNode == nil {
			if v.extends == "" {
				d.el.add(v.line, l, ErrMissing, "missing key \"stages\" (a variant needs stages or extends)")
			}
			continue
		}
		d.stages(v, stagesNode, l.with("stages"))
	}
}

// pairsQuiet is pairs without duplicate reporting (the caller did it).
func (d *decoder) pairsQuiet(m *yaml.Node) []pair {
	saved := len(d.el.errs)
	ps := d.pairs(m, loc{key: "variants"})
	kept := d.el.errs[:saved]
	for _, e := range d.el.errs[saved:] {
		if !errors.Is(e, ErrDuplicate) {
			kept = append(kept, e)
		}
	}
	d.el.errs = kept
	return ps
}

func (d *decoder) stages(v *rawVariant, n *yaml.Node, l loc) {
	orig := n
	if n = deref(n); n == nil || n.Kind != yaml.SequenceNode {
		if n != nil && n.ShortTag() == "!!null" {
			return
		}
		d.el.add(orig.Line, l, ErrType, "want a list of stages, got %s", d.describe(orig))
		return
	}
	seen := map[string]int{}
	for i, sn := range n.Content {
		if !d.spend() {
			return
		}
		sl := loc{variant: v.name, stage: fmt.Sprintf("#%d", i+1)}
		origS := sn
		if sn = deref(sn); sn == nil || sn.Kind != yaml.MappingNode {
			d.el.add(origS.Line, sl, ErrType, "want a stage mapping (name, kind, ...), got %s", d.describe(origS))
			continue
		}
		// Label the stage by its name as early as possible, so that errors
		// about its other keys (even duplicate keys) can name it.
		for j := 0; j+1 < len(sn.Content); j += 2 {
			if k, v := sn.Content[j], deref(sn.Content[j+1]); k.Value == "name" && v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
				sl.stage = v.Value
				break
			}
		}
		ps := d.pairs(sn, sl)
		s := &rawStage{line: sn.Line}
		// Name first, so that other errors can name the stage.
		hasName := false
		for _, p := range ps {
			if p.key == "name" {
				if name, ok := d.str(p.v, sl.with("name")); ok {
					hasName = true
					if name == "" {
						d.el.add(p.v.Line, sl.with("name"), ErrInvalid, "empty stage name")
					}
					s.name = name
					sl.stage = name
				} else {
					s.name = sl.stage
				}
			}
		}
		if !hasName && s.name == "" {
			d.el.add(sn.Line, sl, ErrMissing, "missing key \"name\"")
		}
		for _, p := range ps {
			kl := sl.with(p.key)
			switch p.key {
			case "name":
			case "kind":
				if k, ok := d.str(p.v, kl); ok {
					if k == "" {
						d.el.add(p.v.Line, kl, ErrInvalid, "empty kind")
					}
					s.kind = &k
				}
			case "inputs":
				s.hasInputs, s.inputsLine = true, p.v.Line
				s.inputs = d.inputs(p.v, kl)
			case "params":
				if m := d.mapping(p.v, kl, "parameter name to value"); m != nil {
					s.params, _ = d.value(m, kl).(map[string]any)
					s.paramLines, s.redact = d.paramOrigins(m)
				} else {
					s.params = map[string]any{}
				}
			case "workers":
				if w, ok := d.count(p.v, kl); ok {
					s.workers = &w
				}
			case "buffer":
				if b, ok := d.count(p.v, kl); ok {
					s.buffer = &b
				}
			case "materialize":
				if b, ok := d.boolean(p.v, kl); ok {
					s.materialize = &b
				}
			case "max_error_rate":
				if f, ok := d.fraction(p.v, kl); ok {
					s.maxErrRate = &f
				}
			default:
				d.unknownKey(p, sl, stageKeys)
			}
		}
		if !hasName {
			continue
		}
		if prev, dup := seen[s.name]; dup {
			d.el.add(sn.Line, sl, ErrDuplicate, "duplicate stage name (first defined on line %d)", prev)
			continue
		}
		seen[s.name] = sn.Line
		v.stages = append(v.stages, s)
	}
}

// paramOrigins returns the line of each param key of the params mapping m
// and the params whose value (or any part of it) came from ${VAR}
// interpolation, which errors must not echo. Keys brought in by a merge
// key (<<) have no line of their own: errors use the stage's.
func (d *decoder) paramOrigins(m *yaml.Node) (map[string]int, map[string]bool) {
	lines, redact := map[string]int{}, map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "<<" {
			continue
		}
		lines[k.Value] = k.Line
		if d.interpolated(v, 0) {
			redact[k.Value] = true
		}
	}
	return lines, redact
}

// interpolated reports whether n or a node below it had ${VAR} expanded.
func (d *decoder) interpolated(n *yaml.Node, depth int) bool {
	if n == nil || depth > 64 {
		return false
	}
	if _, ok := d.raw[n]; ok {
		return true
	}
	if n.Kind == yaml.AliasNode {
		return d.interpolated(n.Alias, depth+1)
	}
	for _, c := range n.Content {
		if d.interpolated(c, depth+1) {
			return true
		}
	}
	return false
}

// inputs accepts a list of stage names, or a single name as a one-element
// list; null means no inputs.
func (d *decoder) inputs(n *yaml.Node, l loc) []string {
	orig := n
	if n = deref(n); n == nil {
		d.el.add(orig.Line, l, ErrType, "want a list of stage names, got %s", d.describe(orig))
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		d.interp(n, l)
		if n.ShortTag() == "!!null" {
			return []string{}
		}
		return []string{n.Value}
	case yaml.SequenceNode:
		out := []string{}
		seen := map[string]bool{}
		for i, c := range n.Content {
			if s, ok := d.str(c, l.with(strconv.Itoa(i))); ok {
				if seen[s] {
					d.el.add(c.Line, l, ErrDuplicate, "input %q listed twice", s)
					continue
				}
				seen[s] = true
				out = append(out, s)
			}
		}
		return out
	}
	d.el.add(n.Line, l, ErrType, "want a list of stage names, got %s", d.describe(n))
	return nil
}

// Variants returns the names of all variants, sorted.
func (f *File) Variants() []string {
	names := make([]string, 0, len(f.variants))
	for name := range f.variants {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
