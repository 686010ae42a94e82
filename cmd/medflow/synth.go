package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/synth"
)

func (a *app) synthCmd() *cobra.Command {
	var (
		out, size string
		splits    []float64
		o         synth.Options
	)
	cmd := &cobra.Command{
		Use:   "synth --out URI --studies N [--seed S]",
		Short: "Write a phantom MIMIC-CXR dataset (images, reports, CSVs) in the published layout",
		Long: "Writes files/pXX/pSUBJECT/sSTUDY/DICOM.jpg chest radiograph phantoms (a visible sign per\n" +
			"positive label, a faint one per uncertain label), sSTUDY.txt reports consistent with the\n" +
			"labels, and the metadata, split, chexpert and negbio tables (.csv.gz), to a local folder or\n" +
			"s3://. Label prevalence follows CheXpert's. The output depends only on the flags (not on\n" +
			"--workers). --corrupt-fraction plants realistic faults; they are listed at the end.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.load(cmd); err != nil {
				return err
			}
			if out == "" {
				return fmt.Errorf("synth: --out is required")
			}
			w, h, ok := strings.Cut(size, "x")
			var err1, err2 error
			o.Width, err1 = strconv.Atoi(w)
			o.Height, err2 = strconv.Atoi(h)
			if !ok || err1 != nil || err2 != nil {
				return fmt.Errorf("synth: --size %q: want WIDTHxHEIGHT", size)
			}
			if len(splits) != 3 || splits[0] < 0 || splits[1] < 0 || splits[2] < 0 || splits[0]+splits[1]+splits[2] <= 0 {
				return fmt.Errorf("synth: --splits %v: want three non-negative fractions train,validate,test", splits)
			}
			o.Splits = [3]float64(splits)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			store, err := connectors.Open(ctx, out, a.storeOptions())
			if err != nil {
				return err
			}
			start, last := time.Now(), time.Now()
			o.Progress = func(done int) {
				if time.Since(last) > 5*time.Second || done == o.Studies {
					last = time.Now()
					a.log.Info("synth", "studies", done, "of", o.Studies, "studies_per_s", fmt.Sprintf("%.1f", float64(done)/time.Since(start).Seconds()))
				}
			}
			sum, err := synth.Write(ctx, store, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %d subjects, %d studies, %d images to %s in %s\n", sum.Subjects, sum.Studies, sum.Images,
				store, time.Since(start).Round(time.Millisecond))
			for _, f := range sum.Faults {
				fmt.Fprintf(a.stdout, "planted %s: %s\n", f.Kind, f.Key)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "destination: a folder or s3://bucket/prefix")
	f.IntVar(&o.Studies, "studies", 100, "number of studies")
	f.Uint64Var(&o.Seed, "seed", 1, "seed: the same seed writes the same bytes")
	f.StringVar(&size, "size", "2544x3056", "image size WIDTHxHEIGHT")
	f.Float64Var(&o.CorruptFraction, "corrupt-fraction", 0, "fraction of studies given a fault (truncated/corrupt/empty JPEG, missing report, bad label row)")
	f.IntVar(&o.Quality, "quality", 95, "JPEG quality")
	f.IntVar(&o.Workers, "workers", 0, "parallel studies (default: all cores)")
	f.BoolVar(&o.PlainCSV, "plain-csv", false, "write .csv tables instead of .csv.gz")
	f.BoolVar(&o.PermuteLabels, "permute-labels", false, "control: write the label tables with labels permuted across studies (images and reports keep their signs)")
	f.Float64SliceVar(&splits, "splits", []float64{0.8, 0.1, 0.1}, "train,validate,test fractions, by subject")
	return cmd
}
