// Command benchreport reads `go test -bench` output (files or stdin) and
// prints, per benchmark, the median of every metric over the -count runs,
// and for each pair named .../medflow and .../reference the ratio of their
// medians (reference time / medflow time: above 1 means medflow is
// faster; for peak-RSS pairs named rows=... it prints the largest over the
// smallest).
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	var in []io.Reader
	for _, p := range os.Args[1:] {
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = append(in, f)
	}
	if len(in) == 0 {
		in = append(in, os.Stdin)
	}
	runs := parse(io.MultiReader(in...))
	report(os.Stdout, runs)
}

var lineRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// runs maps benchmark name -> metric unit -> values, keeping first-seen
// order of names.
type runs struct {
	names   []string
	metrics map[string]map[string][]float64
}

func parse(r io.Reader) *runs {
	out := &runs{metrics: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		name := m[1]
		if out.metrics[name] == nil {
			out.metrics[name] = map[string][]float64{}
			out.names = append(out.names, name)
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			out.metrics[name][f[i+1]] = append(out.metrics[name][f[i+1]], v)
		}
	}
	return out
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func report(w io.Writer, r *runs) {
	fmt.Fprintln(w, "| benchmark | runs | median ns/op | other medians |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, name := range r.names {
		m := r.metrics[name]
		var units []string
		for u := range m {
			if u != "ns/op" {
				units = append(units, u)
			}
		}
		sort.Strings(units)
		var other []string
		for _, u := range units {
			other = append(other, fmt.Sprintf("%.4g %s", median(m[u]), u))
		}
		fmt.Fprintf(w, "| %s | %d | %.4g | %s |\n", name, len(m["ns/op"]), median(m["ns/op"]), strings.Join(other, ", "))
	}
	fmt.Fprintln(w)
	for _, name := range r.names {
		base, ok := strings.CutSuffix(name, "/medflow")
		if !ok {
			continue
		}
		ref, ok := r.metrics[base+"/reference"]
		if !ok {
			continue
		}
		mf := median(r.metrics[name]["ns/op"])
		if mf > 0 {
			fmt.Fprintf(w, "ratio %s: reference/medflow time = %.3f (medflow is %+.1f%% slower)\n",
				base, median(ref["ns/op"])/mf, 100*(mf/median(ref["ns/op"])-1))
		}
	}
	// Peak-RSS benchmarks named .../rows=N: ratio of the largest to the
	// smallest size within each group (the name up to "/rows=").
	groups := map[string][]string{}
	var order []string
	for _, name := range r.names {
		if _, ok := r.metrics[name]["peak-RSS-MiB"]; !ok {
			continue
		}
		g, _, _ := strings.Cut(name, "/rows=")
		if groups[g] == nil {
			order = append(order, g)
		}
		groups[g] = append(groups[g], name)
	}
	for _, g := range order {
		rss := groups[g]
		if len(rss) < 2 {
			continue
		}
		lo, hi := median(r.metrics[rss[0]]["peak-RSS-MiB"]), median(r.metrics[rss[len(rss)-1]]["peak-RSS-MiB"])
		fmt.Fprintf(w, "ratio peak RSS %s / %s = %.3f\n", rss[len(rss)-1], rss[0], hi/lo)
	}
}
