package badinput_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
)

// summary collects kind -> outcome lines for the final table.
type summary struct {
	mu    sync.Mutex
	lines []string
}

func (s *summary) add(kind, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, fmt.Sprintf("%-55s %s", kind, outcome))
}

func (s *summary) log(t *testing.T, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("%s: %d kinds\n%-55s %s\n%s", title, len(s.lines), "KIND", "OUTCOME", strings.Join(s.lines, "\n"))
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Schemas of the sources that feed image.decode and report.sections keys
// directly.
var (
	keySchema    = arrow.NewSchema([]arrow.Field{{Name: "image_key", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	reportSchema = arrow.NewSchema([]arrow.Field{{Name: "report_key", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
)

func caseRegistry(t testing.TB, e *env) *pipeline.Registry {
	reg := registry(t)
	pt.RegisterJSON(reg, "test.keys", keySchema,
		`[{"image_key": "../outside.jpg"}, {"image_key": "/etc/passwd"}, {"image_key": "ok dir/ünï cødé.jpg"},
		  {"image_key": "a/../../outside.jpg"}, {"image_key": "missing ü.jpg"}]`)
	pt.RegisterJSON(reg, "test.reportkeys", reportSchema,
		fmt.Sprintf(`[{"report_key": "../outside.txt"}, {"report_key": "/etc/hostname"}, {"report_key": %q}]`, e.imgs[0].Report))
	return reg
}

// TestBadInputs runs every data case (see dataCases) and checks its
// outcome: exact quarantine entries, exact good rows (by key), or a clear
// error.
func TestBadInputs(t *testing.T) {
	_, imgs, _ := clean(t)
	// The clean dataset: every image out of both branches, nothing
	// quarantined.
	t.Run("clean", func(t *testing.T) {
		e := newEnv(t, "mimic")
		res, err := pt.Run(t, caseRegistry(t, e), pipeline.PlanOptions{Logger: quiet}, e.frontEnd(nil)...)
		if err != nil {
			t.Fatal(err)
		}
		if q := res.Run.Quarantined(); len(q) != 0 {
			t.Fatalf("clean dataset quarantined %v", q)
		}
		all := allKeys(imgs)
		if got := keys(res.Column(imgSink, "image_key")); !slices.Equal(got, all) {
			t.Fatalf("clean images out:\n%q\nwant\n%q", got, all)
		}
		if got := keys(res.Column(tokSink, "image_key")); !slices.Equal(got, all) {
			t.Fatalf("clean reports out:\n%q\nwant\n%q", got, all)
		}
	})
	var sum summary
	for _, tc := range dataCases {
		t.Run(tc.kind, func(t *testing.T) {
			sub := tc.sub
			if sub == "" {
				sub = "mimic"
			}
			e := newEnv(t, sub)
			var want outcome
			tc.mutate(e, &want)
			specs := e.frontEnd(tc.over)
			if tc.specs != nil {
				specs = tc.specs(e)
			}
			if tc.specs == nil {
				// The mutation may change the model path.
				for i := range specs {
					if specs[i].Name == "tokenize" {
						specs[i].Params["model"] = e.model
					}
				}
			}
			res, err := pt.Run(t, caseRegistry(t, e), pipeline.PlanOptions{Logger: quiet}, specs...)
			line := check(t, e, tc, want, res, err)
			if tc.extra != nil && err == nil {
				tc.extra(t, e, res)
			}
			sum.add(tc.kind, line)
		})
	}
	sum.log(t, "bad-input data cases")
}

func allKeys(imgs []img) []string {
	var out []string
	for _, m := range imgs {
		out = append(out, m.Key)
	}
	slices.Sort(out)
	return out
}

// check compares a run with the expected outcome and returns the summary
// line.
func check(t *testing.T, e *env, tc dataCase, want outcome, res *pt.Result, err error) string {
	t.Helper()
	if want.err != nil {
		if err == nil {
			t.Fatalf("the run succeeded; want an error naming %q", want.err)
		}
		for _, w := range want.err {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error lacks %q:\n%v", w, err)
			}
		}
		if res != nil && res.Run != nil {
			for _, q := range res.Run.Quarantined() {
				t.Logf("quarantined before the error: %+v", q)
			}
		}
		return "error: " + firstLine(err.Error())
	}
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	got := res.Run.Quarantined()
	used := make([]bool, len(got))
	for _, w := range want.quarantine {
		found := false
		for i, q := range got {
			if !used[i] && q.Stage == w.stage && strings.Contains(q.Key, w.key) && strings.Contains(q.Reason, w.reason) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("no quarantine entry like %+v", w)
		}
	}
	for i, q := range got {
		if !used[i] {
			t.Errorf("unexpected quarantine entry %+v", q)
		}
	}
	var counts []string
	if want.rows != nil {
		for _, sink := range []string{imgSink, tokSink} {
			if n, ok := want.rows[sink]; ok {
				if res.Rows(sink) != n {
					t.Errorf("%s: %d rows, want %d", sink, res.Rows(sink), n)
				}
				counts = append(counts, fmt.Sprintf("%s %d/%d", sink, res.Rows(sink), n))
			}
		}
	} else {
		for _, b := range []struct {
			sink string
			lost []string
		}{{imgSink, append(want.lostIndex, want.lostImage...)}, {tokSink, append(want.lostIndex, want.lostReport...)}} {
			var exp []string
			for _, k := range allKeys(e.imgs) {
				if !slices.Contains(b.lost, k) {
					exp = append(exp, k)
				}
			}
			out := keys(res.Column(b.sink, "image_key"))
			if !slices.Equal(out, exp) {
				t.Errorf("%s: %d rows out, want %d good rows:\n got %q\nwant %q", b.sink, len(out), len(exp), out, exp)
			}
			counts = append(counts, fmt.Sprintf("%s %d/%d", b.sink, len(out), len(e.imgs)))
		}
	}
	var qs []string
	for _, q := range got {
		qs = append(qs, fmt.Sprintf("%s[%s]: %s", q.Stage, shortKey(q.Key), firstLine(q.Reason)))
	}
	if len(qs) == 0 {
		qs = []string{"nothing quarantined"}
	}
	return strings.Join(counts, ", ") + "; " + strings.Join(qs, "; ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// shortKey drops the temporary folder from a full path key.
func shortKey(k string) string {
	if i := strings.Index(k, "/files/"); i >= 0 {
		return k[i+1:]
	}
	return k
}

// quiet drops the stages' info logs.
var quiet = slog.New(slog.DiscardHandler)
