package main

import (
	"fmt"
	"strings"
)

// MIMIC-CXR-JPG v2.0.0 at full size: what the flagship study processes.
const (
	mimicImages     = 377110
	mimicStudies    = 227835
	mimicTrainImgs  = 368960 // official split: train / validate / test images
	mimicTestImgs   = 5159
	llamaLayers     = 32 // Llama-2-7B
	gpuCheckLayers  = 2  // bench/gpu/check.sh's LAYERS
	gpuHostCores    = 16 // the GPU host's cores (bench/gpu/results' machine line)
	flagshipMAEEp   = 100
	flagshipCLIPEp  = 20
	flagshipArms    = 2 // mae-baseline and llm-contrastive each train and predict
	secondsPerHour  = 3600.0
	nsPerSecond     = 1e9
	scaleSectionTag = "## Scale"
)

// ScaleRow extrapolates one stage of the flagship to the full dataset:
// Work units (times the median of PerUnit, when set) at each measured
// rate. Nothing is estimated: a rate that was not measured prints "not
// measured".
type ScaleRow struct {
	Stage   string
	Work    float64
	PerUnit *Sel // multiplies Work (tokens per report); nil: 1
	Unit    string
	How     string // how Work is counted, and what is assumed
	Rates   []ScaleRate
}

// ScaleRate is one way to run a stage: a measured rate in Unit per second
// (or, with FromNsPerOp, one unit per ns/op on one core, times Cores),
// and Factor, the stage's cost at full size relative to what was measured
// (32 Llama layers where 2 were timed).
type ScaleRate struct {
	Label       string
	Sel         *Sel
	FromNsPerOp bool
	Cores       float64
	Factor      float64
	Medflow     bool // a way medflow runs it on the GPU host (the fastest measured one counts in the total)
	Here        bool // medflow on this machine's CPU (make rehearsal): counts in this machine's total
	RSS         *Sel // the host process's peak RSS while the stage ran, MiB (nil: not recorded)
}

// hereLabel names the rates make rehearsal measured.
const hereLabel = "this machine's CPU (make rehearsal: 100 studies, trainers at batch 8 for 2 steps on simplego)"

// ScaleRows is BENCHMARKS.md's scale table: the study at full MIMIC-CXR
// size (227,835 reports, 377,110 images, 100 MAE epochs, 32 Llama layers)
// on one GPU host like the one bench/gpu/check.sh ran on.
var ScaleRows = []ScaleRow{
	{Stage: "image.decode", Work: mimicImages, Unit: "images",
		How: "every image once (a frontal-only view filter keeps fewer); full-size JPEGs",
		Rates: []ScaleRate{
			{Label: "libjpeg-turbo at 1/8 + resize, one 2544×3056 JPEG per core (CPU row jpeg-vs-djpeg) × 16 host cores", Sel: sel(`BenchmarkDecode/medflow-uint8`, "ns/op"), FromNsPerOp: true, Cores: gpuHostCores, Factor: 1, Medflow: true},
			{Label: "the GPU host, 4 workers, 256 px phantom JPEGs (cheaper than MIMIC's)", Sel: sel(`BenchmarkGPUCheck/stage/images`, "rows/s"), Factor: 1, RSS: sel(`BenchmarkGPUCheck/rss/gomlx/images`, "MiB")},
			{Label: hereLabel + ", 4 workers, 256 px phantom JPEGs", Sel: sel(`BenchmarkRehearsal/stage/images`, "rows/s"), Factor: 1, Here: true, RSS: sel(`BenchmarkRehearsal/rss/ort/images`, "MiB")},
		}},
	{Stage: "text.embed", Work: mimicStudies, PerUnit: sel(`BenchmarkGPUCheck/embed/gomlx`, "tokens/row"), Unit: "tokens",
		How: "one pass per report; tokens per report as in the phantom reports (real reports differ: scale by yours); 32 layers timed as 2 (cost linear in layers)",
		Rates: []ScaleRate{
			{Label: "medflow, runtime gomlx, xla:cuda (whole stage, compiles included)", Sel: sel(`BenchmarkGPUCheck/embed/gomlx`, "tokens/s"), Factor: llamaLayers / gpuCheckLayers, Medflow: true, RSS: sel(`BenchmarkGPUCheck/rss/gomlx/embed`, "MiB")},
			{Label: "medflow, runtime ort, the host's 16 CPU cores", Sel: sel(`BenchmarkGPUCheck/embed/ort-cpu`, "tokens/s"), Factor: llamaLayers / gpuCheckLayers, Medflow: true, RSS: sel(`BenchmarkGPUCheck/rss/ort/embed`, "MiB")},
			{Label: hereLabel + ", runtime ort", Sel: sel(`BenchmarkRehearsal/embed/ort-cpu`, "tokens/s"), Factor: llamaLayers / gpuCheckLayers, Here: true, RSS: sel(`BenchmarkRehearsal/rss/ort/embed`, "MiB")},
			{Label: "PyTorch fp32 forward, same GPU (reference)", Sel: sel(`BenchmarkGPUCheck/torch/embed/fp32`, "tokens/s"), Factor: llamaLayers / gpuCheckLayers},
			{Label: "PyTorch bf16 forward, same GPU (reference)", Sel: sel(`BenchmarkGPUCheck/torch/embed/bf16`, "tokens/s"), Factor: llamaLayers / gpuCheckLayers},
		}},
	{Stage: "train.mae", Work: flagshipMAEEp * mimicTrainImgs, Unit: "images",
		How: "100 epochs over the 368,960 train images (batch 64 timed; the flagship uses 256)",
		Rates: []ScaleRate{
			{Label: "medflow xla:cuda, steady", Sel: sel(`BenchmarkGPUCheck/train/mae`, "img/s"), Factor: 1, Medflow: true, RSS: sel(`BenchmarkGPUCheck/rss/gomlx/mae`, "MiB")},
			{Label: hereLabel, Sel: sel(`BenchmarkRehearsal/train/mae`, "img/s"), Factor: 1, Here: true, RSS: sel(`BenchmarkRehearsal/rss/ort/mae`, "MiB")},
			{Label: "PyTorch fp32, same GPU (reference)", Sel: sel(`BenchmarkGPUCheck/torch/train/mae-fp32`, "img/s"), Factor: 1},
			{Label: "PyTorch bf16, same GPU (reference)", Sel: sel(`BenchmarkGPUCheck/torch/train/mae-bf16`, "img/s"), Factor: 1},
		}},
	{Stage: "train.contrastive", Work: flagshipCLIPEp * mimicTrainImgs, Unit: "images",
		How: "20 epochs over the train images",
		Rates: []ScaleRate{
			{Label: "medflow xla:cuda, steady", Sel: sel(`BenchmarkGPUCheck/train/contrastive`, "img/s"), Factor: 1, Medflow: true, RSS: sel(`BenchmarkGPUCheck/rss/gomlx/contrastive`, "MiB")},
			{Label: hereLabel, Sel: sel(`BenchmarkRehearsal/train/contrastive`, "img/s"), Factor: 1, Here: true, RSS: sel(`BenchmarkRehearsal/rss/ort/contrastive`, "MiB")},
		}},
	{Stage: "train.classifier + predict.classify (both arms)", Work: flagshipArms * mimicImages, Unit: "images",
		How: "probe mode: the frozen encoder's features once per image per arm, then head epochs (negligible); timed as a fine-tune step, which costs more than a forward pass, so an upper bound",
		Rates: []ScaleRate{
			{Label: "medflow xla:cuda, fine-tune step", Sel: sel(`BenchmarkGPUCheck/train/clf`, "img/s"), Factor: 1, Medflow: true, RSS: sel(`BenchmarkGPUCheck/rss/gomlx/clf`, "MiB")},
			{Label: hereLabel + ", fine-tune step", Sel: sel(`BenchmarkRehearsal/train/clf`, "img/s"), Factor: 1, Here: true, RSS: sel(`BenchmarkRehearsal/rss/ort/clf`, "MiB")},
			{Label: "PyTorch fp32 fine-tune step, same GPU (reference)", Sel: sel(`BenchmarkGPUCheck/torch/train/clf-fp32`, "img/s"), Factor: 1},
		}},
}

// ScaleLine is one rate of one scale row, evaluated.
type ScaleLine struct {
	Row         *ScaleRow
	Rate        *ScaleRate
	Work        Value // units at full size
	PerS, Hours Value
	RSS         Value
}

// EvaluateScale computes each rate's hours at full size.
func EvaluateScale(rows []ScaleRow, r *Results) []ScaleLine {
	var out []ScaleLine
	for i := range rows {
		row := &rows[i]
		work := Value{V: row.Work, Runs: 1, OK: true}
		if row.PerUnit != nil {
			per := r.value(row.PerUnit, 1)
			work = Value{V: row.Work * per.V, Runs: per.Runs, OK: per.OK}
		}
		for j := range row.Rates {
			rt := &row.Rates[j]
			l := ScaleLine{Row: row, Rate: rt, Work: work, RSS: r.value(rt.RSS, 1)}
			v := r.value(rt.Sel, 1)
			if v.OK && rt.FromNsPerOp && v.V > 0 {
				v.V = rt.Cores * nsPerSecond / v.V
			}
			if v.OK && v.V > 0 {
				l.PerS = v
				if work.OK {
					l.Hours = Value{V: work.V * rt.Factor / v.V / secondsPerHour, Runs: v.Runs, OK: true}
				}
			}
			out = append(out, l)
		}
	}
	return out
}

// renderScale writes the scale section; nothing when no rate was measured.
func renderScale(b *strings.Builder, lines []ScaleLine) {
	measured := false
	for _, l := range lines {
		measured = measured || l.Hours.OK
	}
	if !measured {
		return
	}
	b.WriteString("\n" + scaleSectionTag + ": the study at full MIMIC-CXR size on one GPU host\n\n")
	b.WriteString("Each flagship stage's work at full size (227,835 reports, 377,110 images, 100 MAE epochs, " +
		"Llama-2-7B's 32 layers) divided by a rate measured above (bench/gpu/check.sh at real shapes: " +
		"224 px ViT-S/16, the flagship's MAE decoder, a Llama of 7B width with 2 random layers). " +
		"A sum of hours is a plan for one host, stage after stage; stages of different rows can overlap. " +
		"Hours scale down with hosts for the data-parallel stages (decode, embed, predict) only: medflow trains on one device. " +
		"Peak RSS is the check process's high-water mark while the stage ran (GPU host: 600 phantom studies, measured while the trainers still held their split in memory: they stream it since 2026-12-04, see the Soak section). " +
		"The rows marked this machine come from `make rehearsal` (pipelines.yaml's flagship-rehearsal at the same shapes on this machine's CPU).\n\n")
	b.WriteString("| stage | work at full size | how counted | rate from | measured rate | hours | host peak RSS in the check |\n|---|---|---|---|---|---|---|\n")
	best, total, missing := fastest(lines, func(r *ScaleRate) bool { return r.Medflow })
	bestHere, totalHere, missingHere := fastest(lines, func(r *ScaleRate) bool { return r.Here })
	for i, l := range lines {
		rate := "not measured"
		if l.PerS.OK {
			rate = fmt.Sprintf("%s %s/s", fmtNum(l.PerS.V), l.Row.Unit)
			if l.Rate.Factor != 1 {
				rate += fmt.Sprintf(" (full size: ×%g the work)", l.Rate.Factor)
			}
		}
		hours := "not measured"
		if l.Hours.OK {
			hours = fmtNum(l.Hours.V) + " h"
		}
		if j, ok := best[l.Row]; ok && j == i {
			hours = "**" + hours + "**"
		}
		if j, ok := bestHere[l.Row]; ok && j == i {
			hours = "*" + hours + "*"
		}
		stage, work, how := "", "", ""
		if i == 0 || lines[i-1].Row != l.Row {
			stage, work, how = l.Row.Stage, "not measured", l.Row.How
			if l.Work.OK {
				work = fmtNum(l.Work.V) + " " + l.Row.Unit
			}
		}
		rss := "—"
		if l.RSS.OK {
			rss = fmtNum(l.RSS.V) + " MiB"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", stage, work, how, l.Rate.Label, rate, hours, rss)
	}
	without := func(missing []string) string {
		if len(missing) == 0 {
			return ""
		}
		return " (without " + strings.Join(missing, ", ") + ": not measured)"
	}
	fmt.Fprintf(b, "\nmedflow today, one host, stage after stage (the bold hours: its fastest way per stage): **%s h**%s.\n", fmtNum(total), without(missing))
	if len(bestHere) > 0 {
		fmt.Fprintf(b, "\nOn this machine's CPU alone (the italic hours: make rehearsal's rates at the same shapes; trainers at batch 8 on simplego): *%s h*%s, i.e. %s years: the study at full size needs the GPU host.\n",
			fmtNum(totalHere), without(missingHere), fmtNum(totalHere/24/365))
	}
}

// fastest picks, per row, the line with the fewest hours among the rates
// counted, and sums them; rows with no such measured rate are missing.
func fastest(lines []ScaleLine, counted func(*ScaleRate) bool) (best map[*ScaleRow]int, total float64, missing []string) {
	best = map[*ScaleRow]int{}
	for i, l := range lines {
		if j, ok := best[l.Row]; counted(l.Rate) && l.Hours.OK && (!ok || l.Hours.V < lines[j].Hours.V) {
			best[l.Row] = i
		}
	}
	for i := range lines {
		if j, ok := best[lines[i].Row]; ok && j == i {
			total += lines[i].Hours.V
		} else if !ok && (i == 0 || lines[i-1].Row != lines[i].Row) {
			missing = append(missing, lines[i].Row.Stage)
		}
	}
	return best, total, missing
}
