package suggest

import "testing"

func TestHint(t *testing.T) {
	cands := []string{"inputs", "kind", "params", "workers", "gen.rows"}
	for _, tc := range []struct{ in, want string }{
		{"inptus", ` (did you mean "inputs"?)`},
		{"kidn", ` (did you mean "kind"?)`},
		{"worker", ` (did you mean "workers"?)`},
		{"GEN.ROWZ", ` (did you mean "gen.rows"?)`},
		{"kind", ""},
		{"zzzzzzzz", ""},
		{"", ""},
	} {
		if got := Hint(tc.in, cands); got != tc.want {
			t.Errorf("Hint(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"inptus", "inputs", 1}, {"héllo", "hello", 1}} {
		if got := Distance(tc.a, tc.b); got != tc.d {
			t.Errorf("Distance(%q,%q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
