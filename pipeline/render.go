package pipeline

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the plan as a table, one stage per line in execution
// order, with its role, workers, inputs, fingerprint, what a run does with
// it (compute, reuse, skip; * marks materialized stages), what changed
// since the stage last ran (Node.Changed) and its output schema.
func (p *Plan) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "variant %s: %d stages\n", p.Spec.Variant, len(p.Nodes))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tKIND\tROLE\tWORKERS\tINPUTS\tFINGERPRINT\tRUN\tCHANGED\tOUTPUT")
	for _, n := range p.Nodes {
		ins := make([]string, len(n.Inputs))
		for i, up := range n.Inputs {
			ins[i] = up.Spec.Name
		}
		in := strings.Join(ins, ",")
		if in == "" {
			in = "-"
		}
		run := n.Decision.String()
		if n.Spec.Materialize {
			run += "*"
		}
		changed := strings.Join(n.Changed, ",")
		if changed == "" {
			changed = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", n.Spec.Name, n.Spec.Kind, n.Def.Role,
			n.Workers, in, n.Fingerprint, run, changed, SchemaString(n.Stage.Schema()))
	}
	return tw.Flush()
}

// WriteMermaid writes the DAG as a Mermaid flowchart.
func (p *Plan) WriteMermaid(w io.Writer) error {
	fmt.Fprintln(w, "flowchart LR")
	id := func(n *Node) string { return fmt.Sprintf("s%d", n.index) }
	for _, n := range p.Nodes {
		shape := [2]string{"[", "]"}
		switch n.Def.Role {
		case RoleSource:
			shape = [2]string{"[(", ")]"}
		case RoleSink:
			shape = [2]string{"[/", "/]"}
		case RoleBarrier:
			shape = [2]string{"{{", "}}"}
		}
		label := strings.ReplaceAll(n.Spec.Name+"<br/>"+n.Spec.Kind, `"`, "#quot;")
		fmt.Fprintf(w, "  %s%s\"%s\"%s\n", id(n), shape[0], label, shape[1])
	}
	for _, n := range p.Nodes {
		for _, up := range n.Inputs {
			fmt.Fprintf(w, "  %s --> %s\n", id(up), id(n))
		}
	}
	return nil
}
