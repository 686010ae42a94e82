package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/medflow/medflow/config"
	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/s3"
	"github.com/medflow/medflow/internal/progress"
	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/stages"
)

// app is the state shared by subcommands: the config file, the resolved
// settings and the logger.
type app struct {
	stdout, stderr io.Writer
	cfgPath        string
	file           *config.File
	settings       config.Settings
	log            *slog.Logger
	jsonLogs       bool               // --log-format json: stderr carries JSON records only
	term           *progress.Terminal // stderr is a terminal with text logs: logs print above the live frame
	shard          string             // --shard of the current run, for its record
}

func newRoot(stdout, stderr io.Writer) (*cobra.Command, *app) {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "medflow",
		Short:         "Run YAML-defined pipelines of concurrent Arrow stages",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&a.cfgPath, "config", "pipelines.yaml", "pipelines file")
	config.BindFlags(root.PersistentFlags())
	root.AddCommand(a.runCmd(), a.planCmd(), a.validateCmd(), a.listCmd(), a.kindsCmd(), versionCmd(),
		tokenizeCmd(), modelsCmd(), a.synthCmd(), a.runsCmd(), a.showCmd(), a.gcCmd(), a.mergeCmd(), a.inspectCmd(), a.reportCmd())
	addExamples(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, c := range root.Commands() {
		if args := c.Args; args != nil {
			c.Args = func(cmd *cobra.Command, a []string) error {
				if err := args(cmd, a); err != nil {
					return usageError{err}
				}
				return nil
			}
		}
	}
	return root, a
}

// usageError is a mistake in the command line (unknown flag, wrong number
// of arguments): exit status 2, as for other command-line tools.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// load reads the config file and settings and sets up logging. A broken
// variant does not stop commands about other variants.
func (a *app) load(cmd *cobra.Command) error {
	f, err := config.LoadEach(a.cfgPath)
	if err != nil {
		return err
	}
	a.file = f
	a.settings, err = f.Settings(cmd.Flags())
	if err != nil {
		return err
	}
	a.setLogger(a.settings.Log.Format, a.settings.Log.Level)
	return nil
}

// loadOptional is load for commands that need only the settings: a
// missing default pipelines file is not an error.
func (a *app) loadOptional(cmd *cobra.Command) error {
	if _, err := os.Stat(a.cfgPath); err == nil || cmd.Flags().Changed("config") {
		return a.load(cmd)
	}
	f, err := config.ParseEach("(no pipelines file)", []byte("variants: {}\n"))
	if err != nil {
		return err
	}
	a.file = f
	if a.settings, err = f.Settings(cmd.Flags()); err != nil {
		return err
	}
	a.setLogger(a.settings.Log.Format, a.settings.Log.Level)
	return nil
}

// setLogger logs to stderr as JSON records (durations in seconds) or as
// text; text on a terminal goes through a progress.Terminal so that the
// live progress frame never overwrites a log line.
func (a *app) setLogger(format, level string) {
	opts := &slog.HandlerOptions{Level: map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError}[level]}
	a.jsonLogs, a.term = format == "json", nil
	if a.jsonLogs {
		opts.ReplaceAttr = func(_ []string, at slog.Attr) slog.Attr {
			if at.Value.Kind() == slog.KindDuration {
				return slog.Float64(at.Key, at.Value.Duration().Seconds())
			}
			return at
		}
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
		return
	}
	w := a.stderr
	if fd, ok := terminalFd(a.stderr); ok {
		a.term = progress.NewTerminal(a.stderr, func() int {
			cols, _, err := term.GetSize(fd)
			if err != nil {
				return 80
			}
			return cols
		})
		w = a.term
	}
	a.log = slog.New(slog.NewTextHandler(w, opts))
}

// terminalFd returns w's file descriptor when w is a terminal (not a file,
// a pipe or /dev/null).
func terminalFd(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// fail reports a command's error: one JSON record with --log-format json,
// else "medflow: error" (a plain line, below any progress frame).
func (a *app) fail(err error) {
	if a.jsonLogs && a.log != nil {
		a.log.Error("medflow failed", "err", err.Error())
		return
	}
	fmt.Fprintln(a.stderr, "medflow:", err)
}

// storeOptions maps settings onto connector options.
func (a *app) storeOptions() connectors.Options {
	s := a.settings.S3
	return connectors.Options{S3: s3.Options{
		Endpoint: s.Endpoint, Region: s.Region, PathStyle: s.PathStyle, Secure: s3.Bool(s.Secure),
		InsecureSkipVerify: s.InsecureSkipVerify, AccessKey: s.AccessKey, SecretKey: s.SecretKey,
		SessionToken: s.SessionToken, Logger: a.log,
		Timeouts: s3.Timeouts{Connect: s.ConnectTimeout, ResponseHeader: s.ResponseHeaderTimeout, IdleBody: s.IdleTimeout},
	}}
}

func (a *app) registry() (*pipeline.Registry, error) {
	opts := a.storeOptions()
	return stages.NewRegistry(stages.Deps{Open: func(ctx context.Context, uri string) (objstore.Store, error) {
		return connectors.Open(ctx, uri, opts)
	}})
}

// plan resolves a variant with overrides and validates it.
// plan builds variant with the --set overrides, cut down to targets and
// their upstream when targets are given (--target).
func (a *app) plan(variant string, sets, targets []string, opts pipeline.PlanOptions) (*pipeline.Plan, error) {
	overrides, err := config.Overrides(sets)
	if err != nil {
		return nil, err
	}
	spec, err := a.file.Variant(variant, overrides)
	if err != nil {
		return nil, err
	}
	cut, err := spec.Upstream(targets...)
	if err != nil {
		return nil, err
	}
	reg, err := a.registry()
	if err != nil {
		return nil, err
	}
	if err := checkCutAway(reg, spec, cut, overrides); err != nil {
		return nil, err
	}
	spec = cut
	opts.CodeVersion = version
	opts.Logger = a.log
	if dir := filepath.Dir(a.cfgPath); dir != "." {
		opts.BaseDir = dir // relative model and dataset paths are the config file's
	}
	return reg.Plan(spec, opts)
}

// checkCutAway checks the params of the stages that --target cut away
// (full's stages missing from cut) when a --set or MEDFLOW_SET override
// names them: planning only builds the stages it keeps, and a typo in an
// override must not pass silently because its stage did not run.
func checkCutAway(reg *pipeline.Registry, full, cut pipeline.Spec, overrides []config.Override) error {
	kept := map[string]bool{}
	for _, s := range cut.Stages {
		kept[s.Name] = true
	}
	named := map[string]bool{}
	for _, o := range overrides {
		named[o.Stage] = true
	}
	var errs []error
	for _, s := range full.Stages {
		if kept[s.Name] || !named[s.Name] {
			continue
		}
		def, ok := reg.Lookup(s.Kind)
		if !ok {
			continue // the variant's own check reports unknown kinds
		}
		if _, perrs := pipeline.NewParams(def.Params, s.Params); len(perrs) > 0 {
			errs = append(errs, &pipeline.PlanError{Variant: full.Variant, Stage: s.Name, Key: "params",
				Err: fmt.Errorf("not run (--target), but its overridden params are checked: %w", errors.Join(perrs...))})
		}
	}
	return errors.Join(errs...)
}

// resolve decides which stages run, which reuse an output committed by an
// earlier run (materialized stages, from <work>/cache; sinks whose output
// carries their fingerprint) and which are skipped because only reused
// stages need them.
// It also says why each stage that ran before is recomputed (the
// fingerprint parts that changed since its last run record): in plan's
// CHANGED column, and in the log for materialized stages.
func (a *app) resolve(ctx context.Context, store objstore.Store, plan *pipeline.Plan, alloc memory.Allocator, force []string) error {
	if err := plan.Resolve(ctx, dataset.NewCache(store, CachePrefix, alloc).WithLogger(a.log), force); err != nil {
		return err
	}
	if n, err := runrecord.Explain(plan, runrecord.Newest(ctx, store)); err != nil {
		a.log.Debug("no run records to compare fingerprints with", "err", err, "read", n)
		return nil
	}
	for _, n := range plan.Nodes {
		if n.Decision == pipeline.Compute && len(n.Changed) > 0 && n.Spec.Materialize {
			a.log.Info("stage changed since its last run", "stage", n.Spec.Name, "changed", strings.Join(n.Changed, ","))
		}
	}
	return nil
}

// workStore opens settings.work: run records, quarantine tables, cache.
func (a *app) workStore(ctx context.Context) (objstore.Store, error) {
	return connectors.Open(ctx, a.settings.Work, a.storeOptions())
}

// loadWork is load followed by workStore, for the commands that only look
// at the work store.
// Without a pipelines file (and no --config), the settings come from
// flags, the environment and defaults: `medflow runs --work s3://...`
// works from any folder.
func (a *app) loadWork(cmd *cobra.Command) (objstore.Store, error) {
	if err := a.loadOptional(cmd); err != nil {
		return nil, err
	}
	return a.workStore(cmd.Context())
}

// parseShard parses "i/n" with 0 <= i < n.
func parseShard(s string) (pipeline.Shard, error) {
	if s == "" {
		return pipeline.Shard{}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return pipeline.Shard{}, fmt.Errorf("--shard %q: want i/n with 0 <= i < n", s)
	}
	return pipeline.Shard{Index: i, Count: n}, nil
}

// Work-store layout: materialized outputs under cache/<fingerprint>/, stage
// artifacts (checkpoints, curves, metric tables) under
// artifacts/<fingerprint>/, run records under runs/.
const (
	CachePrefix     = "cache"
	ArtifactsPrefix = "artifacts"
)
