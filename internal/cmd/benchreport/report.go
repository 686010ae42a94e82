package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// report prints, per benchmark, the median of every metric, and for each
// pair named .../medflow and .../reference the ratio of their median
// times; for peak-RSS benchmarks named .../rows=N, the largest size's
// peak over the smallest's (benchreport without -o).
func report(w io.Writer, r *Results) {
	fmt.Fprintln(w, "| benchmark | runs | median ns/op | other medians |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, name := range r.Names {
		m := r.Metrics[name]
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
	for _, name := range r.Names {
		base, ok := strings.CutSuffix(name, "/medflow")
		if !ok {
			continue
		}
		ref, ok := r.Metrics[base+"/reference"]
		if !ok {
			continue
		}
		mf := median(r.Metrics[name]["ns/op"])
		if mf > 0 {
			fmt.Fprintf(w, "ratio %s: reference/medflow time = %.3f (medflow is %+.1f%% slower)\n",
				base, median(ref["ns/op"])/mf, 100*(mf/median(ref["ns/op"])-1))
		}
	}
	groups := map[string][]string{}
	var order []string
	for _, name := range r.Names {
		if _, ok := r.Metrics[name]["peak-RSS-MiB"]; !ok {
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
		lo, hi := median(r.Metrics[rss[0]]["peak-RSS-MiB"]), median(r.Metrics[rss[len(rss)-1]]["peak-RSS-MiB"])
		fmt.Fprintf(w, "ratio peak RSS %s / %s = %.3f\n", rss[len(rss)-1], rss[0], hi/lo)
	}
}
