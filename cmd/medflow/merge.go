package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/medflow/medflow/pipeline"
)

func (a *app) mergeCmd() *cobra.Command {
	var (
		shards int
		sets   []string
	)
	cmd := &cobra.Command{
		Use:   "merge VARIANT --shards N",
		Short: "Commit the outputs of N sharded runs (run --shard i/N) as whole datasets",
		Long: "After `medflow run VARIANT --shard i/N` has succeeded for every i (e.g. as a Kubernetes\n" +
			"Indexed Job), merge commits each sink's output as one dataset made of the shards' parts,\n" +
			"without copying data. It fails, committing nothing for that sink, while a shard is missing.",
		Args: oneVariant,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.load(cmd); err != nil {
				return err
			}
			if shards < 1 {
				return fmt.Errorf("merge: --shards must be >= 1")
			}
			plan, err := a.plan(args[0], sets, nil, pipeline.PlanOptions{})
			if err != nil {
				return err
			}
			merged := 0
			for _, n := range plan.Nodes {
				m, ok := n.Stage.(pipeline.ShardMerger)
				if !ok {
					continue
				}
				if err := m.MergeShards(cmd.Context(), shards); err != nil {
					return fmt.Errorf("merge %s: stage %q: %w", args[0], n.Spec.Name, err)
				}
				merged++
				fmt.Fprintf(a.stdout, "merged %d shards of stage %s\n", shards, n.Spec.Name)
			}
			if merged == 0 {
				return fmt.Errorf("merge %s: no stage writes sharded output", args[0])
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&shards, "shards", 0, "number of shards the runs used")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "the --set overrides the runs used")
	return cmd
}
