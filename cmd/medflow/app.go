package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/cobra"

	"github.com/medflow/medflow/config"
	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/s3"
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
	shard          string // --shard of the current run, for its record
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
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
	return root
}

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
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[a.settings.Log.Level]
	opts := &slog.HandlerOptions{Level: level}
	if a.settings.Log.Format == "json" {
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	} else {
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	}
	return nil
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
func (a *app) plan(variant string, sets []string, opts pipeline.PlanOptions) (*pipeline.Plan, error) {
	overrides, err := config.Overrides(sets)
	if err != nil {
		return nil, err
	}
	spec, err := a.file.Variant(variant, overrides)
	if err != nil {
		return nil, err
	}
	reg, err := a.registry()
	if err != nil {
		return nil, err
	}
	opts.CodeVersion = version
	opts.Logger = a.log
	return reg.Plan(spec, opts)
}

// resolve decides which stages run, which reuse an output committed by an
// earlier run (materialized stages, from <work>/cache; sinks whose output
// carries their fingerprint) and which are skipped because only reused
// stages need them.
func (a *app) resolve(ctx context.Context, store objstore.Store, plan *pipeline.Plan, alloc memory.Allocator, force []string) error {
	return plan.Resolve(ctx, dataset.NewCache(store, CachePrefix, alloc).WithLogger(a.log), force)
}

// workStore opens settings.work: run records, quarantine tables, cache.
func (a *app) workStore(ctx context.Context) (objstore.Store, error) {
	return connectors.Open(ctx, a.settings.Work, a.storeOptions())
}

// loadWork is load followed by workStore, for the commands that only look
// at the work store.
func (a *app) loadWork(cmd *cobra.Command) (objstore.Store, error) {
	if err := a.load(cmd); err != nil {
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
