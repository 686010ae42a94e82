// Package suggest finds the plausible intended word for a typo, for "did you
// mean" hints in error messages.
package suggest

import (
	"fmt"
	"strings"
)

// Hint returns ` (did you mean "x"?)` for the candidate closest to s
// (case-insensitively, by Distance, within max(2, len(x)/3) edits), or ""
// when none is close enough. An exact match is never suggested.
func Hint(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		if c == s {
			continue
		}
		d := Distance(strings.ToLower(s), strings.ToLower(c))
		limit := 2
		if n := len(c) / 3; n > limit {
			limit = n
		}
		if d > limit {
			continue
		}
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// Distance is the optimal-string-alignment edit distance (Levenshtein plus
// adjacent transpositions, so "inptus" is 1 away from "inputs").
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
