package suggest

import "testing"

func TestClosest(t *testing.T) {
	cands := []string{"inputs", "kind", "params", "workers"}
	for _, tc := range []struct{ in, want string }{
		{"inptus", "inputs"},
		{"kidn", "kind"},
		{"worker", "workers"},
		{"zzzzzzzz", ""},
		{"", ""},
	} {
		if got := Closest(tc.in, cands); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if h := Hint("kidn", cands); h != ` (did you mean "kind"?)` {
		t.Errorf("Hint = %q", h)
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}} {
		if got := Distance(tc.a, tc.b); got != tc.d {
			t.Errorf("Distance(%q,%q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
