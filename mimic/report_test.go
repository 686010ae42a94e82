package mimic

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseReport(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		title    bool
		preamble string
		sections []string // "NAME=text"
		addenda  []string
		invalid  int
		text     string // default selection; "" = none
	}{
		{name: "standard",
			in: "                                 FINAL REPORT\n EXAMINATION:  CHEST (PA AND LAT)\n \n INDICATION:  ___ year old woman with cough\n \n" +
				" COMPARISON:  ___\n \n FINDINGS: \n \n The lungs are clear.  No effusion.\n Heart size is normal.\n \n IMPRESSION: \n \n No acute process.\n",
			title: true,
			sections: []string{"EXAMINATION=CHEST (PA AND LAT)", "INDICATION=___ year old woman with cough", "COMPARISON=___",
				"FINDINGS=The lungs are clear. No effusion. Heart size is normal.", "IMPRESSION=No acute process."},
			text: "The lungs are clear. No effusion. Heart size is normal. No acute process."},
		{name: "impression only", in: " FINAL REPORT\n INDICATION: Line.\n IMPRESSION:  Tip in SVC.\n", title: true,
			sections: []string{"INDICATION=Line.", "IMPRESSION=Tip in SVC."}, text: "Tip in SVC."},
		{name: "findings then addenda",
			in:       " FINDINGS: Congestion.\n " + strings.Repeat("_", 78) + "\n FINAL REPORT\n ADDENDUM: Called Dr. ___.\n" + strings.Repeat("_", 20) + "\n second  addendum\n",
			sections: []string{"FINDINGS=Congestion."}, addenda: []string{"ADDENDUM: Called Dr. ___.", "second addendum"}, text: "Congestion."},
		{name: "fallback to last non-empty section",
			in:       " EXAMINATION: CHEST\n NOTIFICATION: Findings telephoned to Dr. ___.\n RECOMMENDATION(S): \n",
			sections: []string{"EXAMINATION=CHEST", "NOTIFICATION=Findings telephoned to Dr. ___.", "RECOMMENDATION(S)="},
			text:     "Findings telephoned to Dr. ___."},
		{name: "invalid utf-8", in: " FINDINGS: Caf\xe9 \xff\xfe ok\n", sections: []string{"FINDINGS=Caf\ufffd \ufffd\ufffd ok"},
			invalid: 3, text: "Caf\ufffd \ufffd\ufffd ok"},
		{name: "no headers", in: "  FINAL REPORT\n Heart normal.\n Lungs clear.\n", title: true, preamble: "Heart normal. Lungs clear."},
		{name: "empty", in: ""},
		{name: "CRLF and CR", in: " FINDINGS: a\r\n b\r IMPRESSION: c\r\n", sections: []string{"FINDINGS=a b", "IMPRESSION=c"}, text: "a b c"},
		{name: "what is not a header",
			in:       " FINDINGS: x\n Findings: lower case\n NOTE:no space\n 3 VIEWS: digit\n   FOUR SPACES: indented\n",
			sections: []string{"FINDINGS=x Findings: lower case NOTE:no space 3 VIEWS: digit FOUR SPACES: indented"},
			text:     "x Findings: lower case NOTE:no space 3 VIEWS: digit FOUR SPACES: indented"},
		{name: "header punctuation, no leading space, colon at end",
			in:       "WET READ: ok\n PA AND LAT, (PORTABLE) CHEST/ABD-X:\n body\n",
			sections: []string{"WET READ=ok", "PA AND LAT, (PORTABLE) CHEST/ABD-X=body"}, text: "body"},
		{name: "repeated and empty sections", in: " FINDINGS:\n IMPRESSION: one\n IMPRESSION: two\n",
			sections: []string{"FINDINGS=", "IMPRESSION=one", "IMPRESSION=two"}, text: "one two"},
		{name: "preamble kept apart", in: " HISTORY\n text\n FINDINGS: f\n", preamble: "HISTORY text",
			sections: []string{"FINDINGS=f"}, text: "f"},
		{name: "short underscores are PHI, not a rule", in: " FINDINGS: a\n ___ ___\n", sections: []string{"FINDINGS=a ___ ___"}, text: "a ___ ___"},
		{name: "tabs and unicode spaces", in: " FINDINGS:\ta\u00a0\u2003b\t\n", sections: []string{"FINDINGS=a b"}, text: "a b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ParseReport([]byte(tc.in))
			var secs []string
			for _, s := range r.Sections {
				secs = append(secs, s.Name+"="+s.Text)
			}
			if (r.Title != "") != tc.title || r.Preamble != tc.preamble || !slices.Equal(secs, tc.sections) ||
				!slices.Equal(r.Addenda, tc.addenda) || r.InvalidUTF8 != tc.invalid {
				t.Errorf("got title %q preamble %q sections %q addenda %q invalid %d\nwant title %v preamble %q sections %q addenda %q invalid %d",
					r.Title, r.Preamble, secs, r.Addenda, r.InvalidUTF8, tc.title, tc.preamble, tc.sections, tc.addenda, tc.invalid)
			}
			sel, _ := ParseSelector(nil)
			text, ok := r.Select(sel)
			if text != tc.text || ok != (tc.text != "") {
				t.Errorf("Select = %q, %v; want %q", text, ok, tc.text)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	r := ParseReport([]byte(" FINAL REPORT\n pre\n INDICATION: why\n FINDINGS: f1\n IMPRESSION: i1\n NOTIFICATION: n\n"))
	for _, tc := range []struct {
		sel  []string
		want string
		err  string
	}{
		{sel: []string{"impression"}, want: "i1"},
		{sel: []string{"findings"}, want: "f1"},
		{sel: []string{"Impression+FINDINGS"}, want: "f1 i1"}, // report order, not selection order
		{sel: []string{"conclusion", "indication"}, want: "why"},
		{sel: []string{"conclusion", "last"}, want: "n"},
		{sel: []string{"all"}, want: "why f1 i1 n"},
		{sel: []string{"text"}, want: "pre INDICATION: why FINDINGS: f1 IMPRESSION: i1 NOTIFICATION: n"},
		{sel: []string{"conclusion"}, want: ""},
		{sel: []string{"findings+"}, err: "not a section name"},
		{sel: []string{"f1nd1ngs"}, err: "not a section name"},
		{sel: []string{"fïndings"}, err: "not a section name"},
		{sel: []string{"findings impression"}, err: `two section names in one; join sections with + ("findings+impression")`},
		{sel: []string{"wet read"}, want: ""}, // a header of several words is fine
	} {
		s, err := ParseSelector(tc.sel)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSelector(%q) err = %v, want %q", tc.sel, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := r.Select(s); got != tc.want || ok != (tc.want != "") {
			t.Errorf("Select(%q) = %q, %v; want %q", tc.sel, got, ok, tc.want)
		}
	}
}

// FuzzParseReport checks that any input parses, that the output is valid
// UTF-8 with normalized whitespace, that the invalid bytes are counted,
// and that the selected text is made of section texts.
func FuzzParseReport(f *testing.F) {
	f.Add([]byte(" FINAL REPORT\n FINDINGS: a\n IMPRESSION: b\n"))
	f.Add([]byte(" FINDINGS: Caf\xe9\n " + strings.Repeat("_", 30) + "\n ADDENDUM: x\n"))
	f.Add([]byte("WET READ: ___\r\n\r\n IMPRESSION:\tnone\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := ParseReport(b)
		invalid := 0
		for i := 0; i < len(b); {
			c, n := utf8.DecodeRune(b[i:])
			if c == utf8.RuneError && n == 1 {
				invalid++
			}
			i += n
		}
		if r.InvalidUTF8 != invalid {
			t.Fatalf("InvalidUTF8 = %d, want %d", r.InvalidUTF8, invalid)
		}
		check := func(what, s string) {
			if !utf8.ValidString(s) {
				t.Fatalf("%s %q is not valid UTF-8", what, s)
			}
			if s != normalize(s) {
				t.Fatalf("%s %q is not normalized", what, s)
			}
		}
		check("preamble", r.Preamble)
		for _, s := range r.Sections {
			check("section text", s.Text)
			if s.Name == "" || strings.Trim(s.Name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ ()/,-") != "" {
				t.Fatalf("bad section name %q", s.Name)
			}
		}
		for _, a := range r.Addenda {
			check("addendum", a)
			if a == "" {
				t.Fatal("empty addendum")
			}
		}
		sel, _ := ParseSelector([]string{"findings+impression", "last"})
		text, ok := r.Select(sel)
		if ok != (text != "") {
			t.Fatalf("Select = %q, %v", text, ok)
		}
		hasText := false
		for _, s := range r.Sections {
			hasText = hasText || s.Text != ""
		}
		if ok != hasText {
			t.Fatalf("Select ok=%v but sections with text: %v", ok, hasText)
		}
	})
}
