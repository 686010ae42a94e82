package mimic

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Section is one headed part of a report. Name is the header as written,
// with runs of spaces collapsed ("FINDINGS", "PA AND LATERAL VIEWS OF THE
// CHEST"); Text is the whitespace-normalized body.
type Section struct {
	Name, Text string
}

// Report is a parsed free-text report.
type Report struct {
	// Title is the leading "FINAL REPORT" line when present.
	Title string
	// Preamble is the normalized text before the first section header.
	Preamble string
	// Sections in the order they appear (before any addendum).
	Sections []Section
	// Addenda are the normalized blocks after a full line of underscores,
	// one per non-empty block, without a leading "FINAL REPORT".
	Addenda []string
	// InvalidUTF8 is the number of bytes that were not valid UTF-8; each
	// was replaced by U+FFFD.
	InvalidUTF8 int
}

// ParseReport parses a MIMIC-CXR report. It never fails: the worst input
// gives a Report with no sections.
//
// A section header is a line that starts (after at most two spaces) with
// upper-case letters, spaces and ( ) / , - followed by ':' and whitespace or
// the end of the line, the pattern `\n ([A-Z ()/,-]+):\s` of the MIMIC-CXR
// documentation; text after the colon on the header line belongs to the
// section. A line made only of underscores (at least 10) starts an addendum;
// "___" PHI placeholders are kept as they are. Whitespace runs (newlines
// included) collapse to one space.
func ParseReport(b []byte) *Report {
	r := &Report{}
	s := repairUTF8(b, &r.InvalidUTF8)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")

	// Split off addenda.
	body := lines
	for i, ln := range lines {
		if isRule(ln) {
			body = lines[:i]
			var block []string
			flush := func() {
				t := normalize(strings.Join(block, "\n"))
				// Addenda repeat the report title; drop it.
				if len(t) >= len("FINAL REPORT") && strings.EqualFold(t[:len("FINAL REPORT")], "FINAL REPORT") &&
					(len(t) == len("FINAL REPORT") || t[len("FINAL REPORT")] == ' ') {
					t = strings.TrimSpace(t[len("FINAL REPORT"):])
				}
				if t != "" {
					r.Addenda = append(r.Addenda, t)
				}
				block = block[:0]
			}
			for _, a := range lines[i+1:] {
				if isRule(a) {
					flush()
					continue
				}
				block = append(block, a)
			}
			flush()
			break
		}
	}

	// Title.
	for len(body) > 0 && strings.TrimSpace(body[0]) == "" {
		body = body[1:]
	}
	if len(body) > 0 && strings.EqualFold(strings.Join(strings.Fields(body[0]), " "), "FINAL REPORT") {
		r.Title = "FINAL REPORT"
		body = body[1:]
	}

	// Sections.
	var cur []string
	name, inSection := "", false
	flush := func() {
		t := normalize(strings.Join(cur, "\n"))
		if inSection {
			r.Sections = append(r.Sections, Section{Name: name, Text: t})
		} else {
			r.Preamble = t
		}
		cur = cur[:0]
	}
	for _, ln := range body {
		if n, rest, ok := header(ln); ok {
			flush()
			name, inSection = n, true
			cur = append(cur, rest)
			continue
		}
		cur = append(cur, ln)
	}
	flush()
	return r
}

// repairUTF8 replaces each invalid byte by U+FFFD and counts them.
func repairUTF8(b []byte, n *int) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 16)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			*n++
			sb.WriteRune(utf8.RuneError)
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}

func isRule(ln string) bool {
	t := strings.TrimSpace(ln)
	return len(t) >= 10 && strings.Trim(t, "_") == ""
}

// header recognizes a section header line.
func header(ln string) (name, rest string, ok bool) {
	i := 0
	for i < len(ln) && i < 2 && ln[i] == ' ' {
		i++
	}
	if i >= len(ln) || ln[i] < 'A' || ln[i] > 'Z' {
		return "", "", false
	}
	j := i
	for j < len(ln) && isHeaderByte(ln[j]) {
		j++
	}
	if j >= len(ln) || ln[j] != ':' {
		return "", "", false
	}
	if j+1 < len(ln) && !isSpaceByte(ln[j+1]) {
		return "", "", false
	}
	return strings.Join(strings.Fields(ln[i:j]), " "), ln[j+1:], true
}

func isHeaderByte(c byte) bool {
	return (c >= 'A' && c <= 'Z') || c == ' ' || c == '(' || c == ')' || c == '/' || c == ',' || c == '-'
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// normalize collapses whitespace runs to one space and trims.
func normalize(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = sb.Len() > 0
			continue
		}
		if space {
			sb.WriteByte(' ')
			space = false
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// SectionNames returns the names of the sections in order.
func (r *Report) SectionNames() []string {
	out := make([]string, len(r.Sections))
	for i, s := range r.Sections {
		out[i] = s.Name
	}
	return out
}

// DefaultSelection picks findings and impression, and the last section
// when a report has neither.
var DefaultSelection = []string{"findings+impression", "last"}

// Selector chooses a report's text. It is a list of alternatives tried in
// order; the first that gives non-empty text wins. An alternative is:
//
//   - one or more section names joined by '+' ("findings+impression",
//     case-insensitive): the non-empty texts of those sections in report
//     order, joined by one space (a name that occurs twice contributes
//     twice);
//   - "last": the last non-empty section;
//   - "all": every non-empty section in order;
//   - "text": the preamble and every section, headers included, i.e. the
//     whole normalized report body (still without addenda).
type Selector struct {
	alts [][]string // upper-case names, or one keyword
}

// commonSections are headers that stand alone in MIMIC-CXR reports; a
// selection naming several of them separated by spaces ("findings
// impression") is a typo for findings+impression, and would select no
// report at all.
var commonSections = map[string]bool{"FINDINGS": true, "IMPRESSION": true, "INDICATION": true, "HISTORY": true,
	"COMPARISON": true, "COMPARISONS": true, "TECHNIQUE": true, "EXAMINATION": true, "CONCLUSION": true,
	"RECOMMENDATION": true, "RECOMMENDATIONS": true, "NOTIFICATION": true}

func allCommonSections(words []string) bool {
	for _, w := range words {
		if !commonSections[w] {
			return false
		}
	}
	return true
}

// ParseSelector checks alternatives (see Selector); none means
// DefaultSelection.
func ParseSelector(alts []string) (Selector, error) {
	if len(alts) == 0 {
		alts = DefaultSelection
	}
	var s Selector
	for _, a := range alts {
		switch strings.ToLower(strings.TrimSpace(a)) {
		case "last", "all", "text":
			s.alts = append(s.alts, []string{strings.ToLower(strings.TrimSpace(a))})
			continue
		}
		var names []string
		for _, n := range strings.Split(a, "+") {
			n = strings.Join(strings.Fields(strings.ToUpper(n)), " ")
			if n == "" || strings.IndexFunc(n, func(r rune) bool { return r > 127 || !isHeaderByte(byte(r)) }) >= 0 {
				return Selector{}, fmt.Errorf("selection %q: %q is not a section name (letters, spaces and ()/,- only) nor last, all or text", a, n)
			}
			if words := strings.Fields(n); len(words) > 1 && allCommonSections(words) {
				return Selector{}, fmt.Errorf("selection %q: %q is two section names in one; join sections with + (%q) or list them as alternatives",
					a, n, strings.ToLower(strings.Join(words, "+")))
			}
			names = append(names, n)
		}
		s.alts = append(s.alts, names)
	}
	return s, nil
}

// Select returns the text chosen by s, and false when no alternative gives
// any text.
func (r *Report) Select(s Selector) (string, bool) {
	for _, alt := range s.alts {
		var parts []string
		switch alt[0] {
		case "last":
			for i := len(r.Sections) - 1; i >= 0; i-- {
				if r.Sections[i].Text != "" {
					parts = append(parts, r.Sections[i].Text)
					break
				}
			}
		case "all":
			for _, sec := range r.Sections {
				if sec.Text != "" {
					parts = append(parts, sec.Text)
				}
			}
		case "text":
			if r.Preamble != "" {
				parts = append(parts, r.Preamble)
			}
			for _, sec := range r.Sections {
				parts = append(parts, strings.TrimSpace(sec.Name+": "+sec.Text))
			}
		default:
			for _, sec := range r.Sections {
				if sec.Text != "" && slicesContains(alt, sec.Name) {
					parts = append(parts, sec.Text)
				}
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, " "), true
		}
	}
	return "", false
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
