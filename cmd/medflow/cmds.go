package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sourcegraph/conc"
	"github.com/spf13/cobra"

	"github.com/medflow/medflow/config"
	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/internal/bufpool"
	"github.com/medflow/medflow/internal/memwatch"
	"github.com/medflow/medflow/internal/profiling"
	"github.com/medflow/medflow/internal/progress"
	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/specdoc"
)

func (a *app) runCmd() *cobra.Command {
	var (
		sets       []string
		shard      string
		noProgress bool
		maxQuar    int
		maxRate    float64
		spillDir   string
		spillMiB   int64
		verifyMiB  int64
		allocator  string
		force      []string
		targets    []string
		pprofDir   string
	)
	cmd := &cobra.Command{
		Use:   "run VARIANT",
		Short: "Run a variant, with live per-stage progress and a summary table",
		Args:  oneVariant,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.load(cmd); err != nil {
				return err
			}
			a.shard = shard
			sh, err := parseShard(shard)
			if err != nil {
				return err
			}
			alloc, err := newAllocator(allocator)
			if err != nil {
				return err
			}
			plan, err := a.plan(args[0], sets, targets, pipeline.PlanOptions{Shard: sh, MaxQuarantined: maxQuar, MaxErrorRate: a.settings.MaxErrorRate, Alloc: alloc,
				VerifyBytes: verifyBytes(verifyMiB)})
			if err != nil {
				return err
			}
			store, err := a.workStore(cmd.Context())
			if err != nil {
				return err
			}
			a.cleanStaging(cmd.Context(), store)
			if err := a.resolve(cmd.Context(), store, plan, alloc, force); err != nil {
				return err
			}
			if pprofDir != "" {
				p, err := profiling.Start(pprofDir, time.Second)
				if err != nil {
					return fmt.Errorf("--pprof: %w", err)
				}
				defer func() {
					if err := p.Stop(); err != nil {
						a.log.Error("writing profiles failed", "dir", pprofDir, "err", err)
					} else {
						a.log.Info("profiles written", "dir", pprofDir)
					}
				}()
			}
			return a.execute(store, plan, pipeline.RunOptions{SpillDir: spillDir, SpillBytes: spillMiB << 20}, !noProgress)
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a param: stage.param=value (repeatable)")
	cmd.Flags().StringVar(&shard, "shard", "", "run shard i of n of the sharded sources: i/n")
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "no live progress display")
	cmd.Flags().IntVar(&maxQuar, "max-quarantined", 0, "fail once more records than this are quarantined (0: no limit, -1: none allowed)")
	// Read back through the settings (settings.max_error_rate, MEDFLOW_MAX_ERROR_RATE).
	cmd.Flags().Float64Var(&maxRate, "max-error-rate", config.DefaultMaxErrorRate,
		"fail when a stage quarantines more than this fraction of its records, checked before anything is committed (0: no limit; a stage's max_error_rate overrides it)")
	cmd.Flags().StringVar(&spillDir, "spill-dir", "", "folder for barrier inputs that exceed memory (default: system temp)")
	cmd.Flags().Int64Var(&spillMiB, "spill-mib", 0, "MiB of each barrier input held in memory before the rest spills to --spill-dir (0: the engine's default, 64; -1: never spill)")
	cmd.Flags().Int64Var(&verifyMiB, "verify-mib", pipeline.DefaultVerifyBytes>>20,
		"reused cache entries the run reads of up to this many MiB are read back against their checksums before anything starts (a damaged one is recomputed); larger ones are checked as they are read, and a damaged part fails the run and drops the entry (0: all at plan time; -1: none)")
	cmd.Flags().StringArrayVar(&force, "force", nil, "recompute this materialized stage and everything downstream (repeatable)")
	cmd.Flags().StringArrayVar(&targets, targetFlag, nil, targetUsage)
	cmd.Flags().StringVar(&pprofDir, "pprof", "", "write Go profiles of this run to this folder: cpu.pprof, heap-peak.pprof at the RSS high-water mark, heap-end.pprof (go tool pprof)")
	cmd.Flags().StringVar(&allocator, "allocator", "pool", "Arrow buffer allocator: pool (reuses freed buffers) or go (leaves them to the GC)")
	return cmd
}

// verifyBytes turns --verify-mib into PlanOptions.VerifyBytes.
func verifyBytes(mib int64) int64 {
	switch {
	case mib == 0:
		return math.MaxInt64
	case mib < 0:
		return -1
	case mib > math.MaxInt64>>20:
		return math.MaxInt64
	}
	return mib << 20
}

// --target cuts a variant down to a stage and what it reads from.
const (
	targetFlag  = "target"
	targetUsage = "run only this stage and the stages it reads from, reusing what is materialized (repeatable)"
)

func newAllocator(name string) (memory.Allocator, error) {
	switch name {
	case "pool":
		return bufpool.New(false), nil
	case "pool-poison": // for tests: freed buffers are overwritten
		return bufpool.New(true), nil
	case "go":
		return memory.NewGoAllocator(), nil
	}
	return nil, fmt.Errorf("--allocator %q: want pool or go", name)
}

func (a *app) execute(store objstore.Store, plan *pipeline.Plan, opts pipeline.RunOptions, showProgress bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts.Artifacts = func(fp string) pipeline.Artifacts {
		return dataset.NewArtifacts(store, ArtifactsPrefix, fp).WithLogger(a.log)
	}
	run := plan.NewRun(opts)
	a.log.Info("run started", "variant", plan.Spec.Variant, "stages", len(plan.Nodes), "version", version)

	// Progress is owned here and stopped before the summary is printed.
	pctx, stopProgress := context.WithCancel(ctx)
	var wg conc.WaitGroup
	if showProgress {
		if a.term != nil {
			wg.Go(func() { a.term.Run(pctx, run.Stats, 200*time.Millisecond) })
		} else {
			wg.Go(func() { progress.Log(pctx, a.log, run.Stats, 10*time.Second) })
		}
	}
	var mem memwatch.Watcher
	wg.Go(func() { memwatch.Watch(pctx, &mem, run.Stats, 250*time.Millisecond) })
	start := time.Now()
	err := run.Execute(ctx)
	stopProgress()
	wg.Wait()
	rec, recorded := a.record(context.WithoutCancel(ctx), store, plan, run, start, err, &mem)

	a.summary(run.Stats())
	for _, st := range run.Stats() {
		switch {
		case st.ResumedRows > 0:
			a.log.Info("resumed", "stage", st.Stage, "parts_replayed", st.Resumed, "rows_replayed", st.ResumedRows)
		case st.Resumed > 0:
			a.log.Info("resumed", "stage", st.Stage, "input_batches_replayed", st.Resumed)
		}
	}
	q := sortQuarantine(plan, run.Quarantined())
	// The table holds what reused stages quarantined when they were
	// computed too, as a cold run's would; a finished run that quarantined
	// nothing empties the table an earlier run left.
	if len(q) > 0 || (err == nil && quarantineExists(context.WithoutCancel(ctx), store, plan.Spec.Variant)) {
		if uri, werr := a.writeQuarantine(context.WithoutCancel(ctx), store, plan.Spec.Variant, q); werr != nil {
			a.log.Error("writing the quarantine table failed", "err", werr)
		} else if len(q) > 0 {
			a.log.Warn("records quarantined", "count", len(q), "table", uri)
		}
		for i, e := range q {
			if i == 20 {
				a.log.Warn("more records quarantined", "count", len(q)-20)
				break
			}
			a.log.Warn("quarantined", "stage", e.Stage, "key", e.Key, "reason", e.Reason)
		}
	}
	if err == nil && recorded {
		if uris, rerr := writeReport(context.WithoutCancel(ctx), store, rec); rerr != nil {
			a.log.Error("writing the run report failed", "err", rerr)
		} else {
			a.log.Info("run report", "markdown", uris[0], "html", uris[1])
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("run %s: interrupted: %w", plan.Spec.Variant, err)
		}
		return fmt.Errorf("run %s: %w", plan.Spec.Variant, err)
	}
	a.log.Info("run finished", "variant", plan.Spec.Variant, "elapsed", time.Since(start).Round(time.Millisecond),
		"quarantined", len(q))
	return nil
}

// record writes the run's record under <work>/runs; a failure to do so is
// logged, not fatal.
func (a *app) record(ctx context.Context, store objstore.Store, plan *pipeline.Plan, run *pipeline.Run, start time.Time, runErr error, mem *memwatch.Watcher) (runrecord.Record, bool) {
	rec := runrecord.New(runrecord.NewID(start), a.cfgPath, version, plan, run, start, time.Now(), runErr)
	rec.SetPeaks(mem.Peaks(), memwatch.PeakRSS())
	rec.Shard = a.shard
	rec.Outputs = a.outputs(ctx, store, plan, run)
	if err := runrecord.Write(ctx, store, rec); err != nil {
		a.log.Error("writing the run record failed", "err", err)
		return rec, false
	}
	a.log.Info("run recorded", "run", rec.ID, "status", rec.Status)
	return rec, true
}

// outputs lists what the run's stages left: sinks' datasets (their uri
// and format params), materialized stages' cached outputs and every
// stage's artifacts, with paths readers can open (DuckDB, pandas).
func (a *app) outputs(ctx context.Context, store objstore.Store, plan *pipeline.Plan, run *pipeline.Run) []runrecord.Output {
	var out []runrecord.Output
	stats := run.Stats()
	work := strings.TrimSuffix(a.settings.Work, "/")
	for i, n := range plan.Nodes {
		if n.Decision == pipeline.Skip {
			continue
		}
		p := n.Params
		if n.Def.Role == pipeline.RoleSink && p.Declares("uri") && p.Has("uri") {
			if uri, ok := p.Any("uri").(string); ok {
				format, _ := p.Any("format").(string)
				out = append(out, runrecord.Output{Stage: n.Spec.Name, What: "dataset", Path: uri, Format: format, Rows: stats[i].RowsIn})
			}
		}
		if n.Spec.Materialize {
			out = append(out, runrecord.Output{Stage: n.Spec.Name, What: "cache", Path: work + "/" + CachePrefix + "/" + n.Fingerprint,
				Format: "arrow", Rows: stats[i].RowsOut})
		}
		objs, err := store.List(ctx, ArtifactsPrefix+"/"+n.Fingerprint+"/")
		if err != nil {
			continue
		}
		for _, o := range objs {
			ext := strings.TrimPrefix(path.Ext(o.Key), ".")
			out = append(out, runrecord.Output{Stage: n.Spec.Name, What: "artifact", Path: work + "/" + o.Key, Format: ext, Rows: -1})
		}
	}
	return out
}

func (a *app) runsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "runs",
		Short: "List the recorded runs in the work store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.loadWork(cmd)
			if err != nil {
				return err
			}
			recs, err := runrecord.List(cmd.Context(), store)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tVARIANT\tSTATUS\tSTART\tSECONDS\tSTAGES RUN/REUSED\tQUARANTINED")
			for _, r := range recs {
				ran, reused := 0, 0
				for _, s := range r.Stages {
					switch s.Decision {
					case "compute":
						ran++
					case "reuse":
						reused++
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%d/%d\t%d\n", r.ID, r.Variant, r.Status, r.Start.Format(time.RFC3339),
					r.End.Sub(r.Start).Seconds(), ran, reused, r.Quarantined)
			}
			return tw.Flush()
		},
	}
}

func (a *app) showCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show RUN",
		Short: "Print a recorded run (a unique prefix of its id is enough)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.loadWork(cmd)
			if err != nil {
				return err
			}
			r, err := runrecord.Read(cmd.Context(), store, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "run %s: variant %s, %s, %s, %.1f s, peak RSS %s, version %s, config %s, %d quarantined\n", r.ID, r.Variant,
				r.Status, r.Start.Format(time.RFC3339), r.End.Sub(r.Start).Seconds(), mib(r.PeakRSSBytes), r.Version, r.Config, r.Quarantined)
			if r.Error != "" {
				fmt.Fprintf(a.stdout, "error: %s\n", r.Error)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STAGE\tKIND\tFINGERPRINT\tRUN\tSTATE\tROWS IN\tROWS OUT\tSECONDS\tPEAK RSS")
			for _, s := range r.Stages {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.2f\t%s\n", s.Name, s.Kind, s.Fingerprint, s.Decision, s.State, s.RowsIn, s.RowsOut, s.Seconds, mib(s.PeakRSSBytes))
			}
			return tw.Flush()
		},
	}
}

// oneVariant requires exactly one argument, the variant.
func oneVariant(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s: want one VARIANT, got %d arguments (see `medflow list`)", cmd.Name(), len(args))
	}
	return nil
}

// summary prints the end-of-run table per stage, or with JSON logs one
// "stage summary" record per stage.
func (a *app) summary(stats []pipeline.StageStats) {
	if !a.jsonLogs {
		fmt.Fprintln(a.stderr)
		progress.Table(a.stderr, stats)
		return
	}
	for _, s := range stats {
		a.log.Info("stage summary", "stage", s.Stage, "kind", s.Kind, "state", s.State.String(),
			"rows_in", s.RowsIn, "rows_out", s.RowsOut, "batches_out", s.BatchesOut, "bytes_in", s.BytesIn,
			"bytes_out", s.BytesOut, "elapsed", s.Elapsed, "work", s.Work(), "blocked", s.Blocked, "idle", s.Idle, "spilled_bytes", s.Spilled)
	}
}

func (a *app) planCmd() *cobra.Command {
	var (
		sets    []string
		format  string
		force   []string
		targets []string
	)
	cmd := &cobra.Command{
		Use:   "plan VARIANT",
		Short: "Show a variant's DAG as a table and as a Mermaid flowchart",
		Args:  oneVariant,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.load(cmd); err != nil {
				return err
			}
			plan, err := a.plan(args[0], sets, targets, pipeline.PlanOptions{})
			if err != nil {
				return err
			}
			store, err := a.workStore(cmd.Context())
			if err != nil {
				return err
			}
			if err := a.resolve(cmd.Context(), store, plan, memory.DefaultAllocator, force); err != nil {
				return err
			}
			switch format {
			case "text":
				return plan.WriteText(a.stdout)
			case "mermaid":
				return plan.WriteMermaid(a.stdout)
			case "both":
				if err := plan.WriteText(a.stdout); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, "\n```mermaid")
				plan.WriteMermaid(a.stdout)
				fmt.Fprintln(a.stdout, "```")
				return nil
			}
			return fmt.Errorf("--format %q: want text, mermaid or both", format)
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a param: stage.param=value (repeatable)")
	cmd.Flags().StringVar(&format, "format", "both", "text, mermaid or both")
	cmd.Flags().StringArrayVar(&force, "force", nil, "show the plan as if this stage were recomputed (repeatable)")
	cmd.Flags().StringArrayVar(&targets, targetFlag, nil, targetUsage)
	return cmd
}

func (a *app) validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check every variant; exit 1 listing every error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.load(cmd); err != nil {
				return err
			}
			var errs []error
			variants := a.file.Variants()
			for _, v := range variants {
				if _, err := a.plan(v, nil, nil, pipeline.PlanOptions{}); err != nil {
					errs = append(errs, err)
				}
			}
			if len(errs) > 0 {
				for _, e := range errs {
					fmt.Fprintln(a.stderr, e)
				}
				fmt.Fprintf(a.stderr, "%s: %d of %d variants invalid\n", a.cfgPath, len(errs), len(variants))
				return errSilent
			}
			fmt.Fprintf(a.stdout, "%s: %d variants valid\n", a.cfgPath, len(variants))
			return nil
		},
	}
}

func (a *app) listCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the variants in the config file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.load(cmd); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VARIANT\tSTAGES\tDESCRIPTION")
			for _, v := range a.file.Variants() {
				spec, err := a.file.Variant(v, nil)
				if err != nil {
					fmt.Fprintf(tw, "%s\t-\t(invalid: run medflow validate)\n", v)
					continue
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\n", v, len(spec.Stages), spec.Description)
			}
			return tw.Flush()
		},
	}
}

func (a *app) kindsCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "kinds",
		Short: "List the registered stage kinds and their params",
		Long: `List every stage kind with its params: type, default, accepted values
and what each does. The same declarations drive plan-time checks.

  --format text         aligned columns (default)
  --format markdown     the reference in stages/KINDS.md
  --format json-schema  a JSON Schema of pipelines.yaml for editors`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, err := a.registry()
			if err != nil {
				return err
			}
			defs := reg.Kinds()
			switch format {
			case "text":
				return specdoc.Text(a.stdout, defs)
			case "markdown":
				return specdoc.Markdown(a.stdout, defs)
			case "json-schema":
				b, err := specdoc.JSONSchema(defs)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "%s\n", b)
				return err
			}
			return fmt.Errorf("--format %q: want text, markdown or json-schema", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text, markdown or json-schema")
	return cmd
}

// versionCmd prints the version; --verbose adds what runs the simplego
// training backend's float32 matrix products and element-wise ops
// (OpenBLAS and medflow's executors, or simplego's own kernels), so that
// an image or a build can be checked without training anything.
func versionCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version (--verbose: and the CPU training kernels)",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "medflow %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if verbose {
				fmt.Fprintf(w, "matmul: %s\nkernels: %s\n", nn.MatmulKernels(), nn.FastKernels())
			}
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print what runs simplego's float32 matmuls and element-wise ops")
	return cmd
}

// mib formats a byte count for tables ("-" when unknown).
func mib(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}
