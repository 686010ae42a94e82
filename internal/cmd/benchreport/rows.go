package main

import (
	"fmt"
	"regexp"
)

// Sel selects one metric of one benchmark: the first benchmark (in the
// order of the bench output) whose whole name matches Bench and that
// reported Metric.
type Sel struct {
	Bench  *regexp.Regexp
	Metric string
}

func sel(bench, metric string) *Sel {
	return &Sel{Bench: regexp.MustCompile(`^(?:` + bench + `)$`), Metric: metric}
}

// Order says how a row's ratio is formed from the two medians.
type Order int

const (
	MedflowOverRef Order = iota // medflow / reference
	RefOverMedflow              // reference / medflow
)

// Better says which direction of a value is an improvement.
type Better int

const (
	Lower Better = iota
	Higher
)

// Goal is a bound on a row's ratio or on medflow's own median.
type Goal struct {
	OnMedflow bool    // false: the ratio
	Better    Better  // Lower: value <= Bound is met; Higher: value >= Bound
	Bound     float64 // in the row's display unit when OnMedflow
}

// Row is one line of BENCHMARKS.md.
type Row struct {
	ID   string
	What string
	// Medflow is the measured value; Ref the reference measured in the
	// same run (nil: the row has none).
	Medflow, Ref *Sel
	// Ratio: Order of the medians, or RatioMetric when the benchmark
	// reports the ratio itself (paired per iteration, more robust than a
	// ratio of medians); Better is the direction of improvement.
	Order       Order
	RatioMetric *Sel
	Better      Better
	// Unit and Scale: displayed value = raw value * Scale, in Unit.
	Unit  string
	Scale float64
	Goal  *Goal // nil: no goal (informational)
}

const (
	nsToMS = 1e-6
	nsToS  = 1e-9
)

// Rows is the table of `make bench`. Goals marked "(issue)" come from the
// issue that asked for the benchmark; the others are the bar this file
// sets until an issue says otherwise.
var Rows = []Row{
	{ID: "engine-overhead", What: "10M rows through 5 col.scale stages: the engine vs the same kernels in one hand-written loop (pool allocator, all cores, GOGC=400)",
		Medflow: sel(`BenchmarkChain/procs=\d+/alloc=pool/gogc=400`, "medflow-ns/op"), Ref: sel(`BenchmarkChain/procs=\d+/alloc=pool/gogc=400`, "reference-ns/op"),
		RatioMetric: sel(`BenchmarkChain/procs=\d+/alloc=pool/gogc=400`, "medflow/reference"), Better: Lower,
		Unit: "ms", Scale: nsToMS, Goal: &Goal{Better: Lower, Bound: 1.10}},
	{ID: "engine-overhead-gogc100", What: "the same with the default GOGC=100 (the loop, with a smaller live heap, pays for more GC cycles)",
		Medflow: sel(`BenchmarkChain/procs=\d+/alloc=pool/gogc=100`, "medflow-ns/op"), Ref: sel(`BenchmarkChain/procs=\d+/alloc=pool/gogc=100`, "reference-ns/op"),
		RatioMetric: sel(`BenchmarkChain/procs=\d+/alloc=pool/gogc=100`, "medflow/reference"), Better: Lower,
		Unit: "ms", Scale: nsToMS, Goal: &Goal{Better: Lower, Bound: 1.10}},
	{ID: "engine-overhead-1core", What: "the same on one core (GOMAXPROCS=1, GOGC=400)",
		Medflow: sel(`BenchmarkChain/procs=1/alloc=pool/gogc=400`, "medflow-ns/op"), Ref: sel(`BenchmarkChain/procs=1/alloc=pool/gogc=400`, "reference-ns/op"),
		RatioMetric: sel(`BenchmarkChain/procs=1/alloc=pool/gogc=400`, "medflow/reference"), Better: Lower,
		Unit: "ms", Scale: nsToMS, Goal: &Goal{Better: Lower, Bound: 1.10}},
	{ID: "pool-allocator", What: "engine chain time with the pooling allocator (CLI default) vs Go's allocator (GOGC=100)",
		Medflow: sel(`BenchmarkChain/procs=\d+/alloc=pool/gogc=100`, "medflow-ns/op"), Ref: sel(`BenchmarkChain/procs=\d+/alloc=go/gogc=100`, "medflow-ns/op"),
		Order: RefOverMedflow, Better: Higher, Unit: "ms", Scale: nsToMS, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "rss-growth", What: "memory growth with data size: peak RSS of `medflow run bench-chain` at 100M rows vs 10M rows (pool allocator)",
		Medflow: sel(`BenchmarkPeakRSS/alloc=pool/rows=100M`, "peak-RSS-MiB"), Ref: sel(`BenchmarkPeakRSS/alloc=pool/rows=10M`, "peak-RSS-MiB"),
		Better: Lower, Unit: "MiB", Scale: 1, Goal: &Goal{Better: Lower, Bound: 1.2}},
	{ID: "rss-growth-go", What: "the same with Go's allocator (--allocator go)",
		Medflow: sel(`BenchmarkPeakRSS/alloc=go/rows=100M`, "peak-RSS-MiB"), Ref: sel(`BenchmarkPeakRSS/alloc=go/rows=10M`, "peak-RSS-MiB"),
		Better: Lower, Unit: "MiB", Scale: 1, Goal: &Goal{Better: Lower, Bound: 1.2}},
	{ID: "s3-read-1", What: "S3 read, 1,000 × 50 KiB objects from versitygw, 1 worker: connector vs raw minio-go GetObject",
		Medflow: sel(`BenchmarkS3Read/workers=1`, "connector-MB/s"), Ref: sel(`BenchmarkS3Read/workers=1`, "raw-MB/s"),
		RatioMetric: sel(`BenchmarkS3Read/workers=1`, "connector/raw"), Better: Higher, Unit: "MB/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 0.95}},
	{ID: "s3-read-16", What: "the same with 16 workers",
		Medflow: sel(`BenchmarkS3Read/workers=16`, "connector-MB/s"), Ref: sel(`BenchmarkS3Read/workers=16`, "raw-MB/s"),
		RatioMetric: sel(`BenchmarkS3Read/workers=16`, "connector/raw"), Better: Higher, Unit: "MB/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 0.95}},
	{ID: "jpeg-vs-djpeg", What: "one 2544×3056 JPEG to 224×224 uint8 on one core: medflow (libjpeg-turbo at 1/8 + resize) vs `djpeg -grayscale -scale 1/8` run per image; ratio = speed-up",
		Medflow: sel(`BenchmarkDecode/medflow-uint8`, "ns/op"), Ref: sel(`BenchmarkDecode/djpeg-exec`, "ns/op"),
		Order: RefOverMedflow, Better: Higher, Unit: "ms", Scale: nsToMS, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "jpeg-vs-libjpeg", What: "the same vs libjpeg-turbo decoding at 1/8 in a C loop (no resize, no process start): cgo + resize cost",
		Medflow: sel(`BenchmarkDecode/medflow-uint8`, "ns/op"), Ref: sel(`BenchmarkDecode/libjpeg-c-loop`, "ns/op"),
		Better: Lower, Unit: "ms", Scale: nsToMS, Goal: &Goal{Better: Lower, Bound: 1.25}},
	{ID: "jpeg-vs-go", What: "the same vs Go image/jpeg at full size + x/image/draw ApproxBiLinear; ratio = speed-up",
		Medflow: sel(`BenchmarkDecode/medflow-uint8`, "ns/op"), Ref: sel(`BenchmarkDecode/go-jpeg\+draw-approxbilinear`, "ns/op"),
		Order: RefOverMedflow, Better: Higher, Unit: "ms", Scale: nsToMS},
	{ID: "image-decode-workers", What: "image.decode stage, 16 full-size JPEGs: 2 workers vs 1 (images/s)",
		Medflow: sel(`BenchmarkStage/workers-2`, "images/s"), Ref: sel(`BenchmarkStage/workers-1`, "images/s"),
		Better: Higher, Unit: "img/s", Scale: 1},
	{ID: "tokenizer-reports", What: "Llama-2 tokenizer, one thread, 4,000 report-like documents: medflow vs libsentencepiece (tokens/s, wall)",
		Medflow: sel(`Tokbench/kind=reports/medflow`, "tokens/s"), Ref: sel(`Tokbench/kind=reports/libsentencepiece`, "tokens/s"),
		Better: Higher, Unit: "tokens/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "tokenizer-reports-nocache", What: "the same without medflow's word cache (libsentencepiece has none)",
		Medflow: sel(`Tokbench/kind=reports/medflow-nocache`, "tokens/s"), Ref: sel(`Tokbench/kind=reports/libsentencepiece`, "tokens/s"),
		Better: Higher, Unit: "tokens/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "tokenizer-sentences", What: "the same on short sentences",
		Medflow: sel(`Tokbench/kind=sentences/medflow`, "tokens/s"), Ref: sel(`Tokbench/kind=sentences/libsentencepiece`, "tokens/s"),
		Better: Higher, Unit: "tokens/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "tokenizer-mixed", What: "the same on mixed documents",
		Medflow: sel(`Tokbench/kind=mixed/medflow`, "tokens/s"), Ref: sel(`Tokbench/kind=mixed/libsentencepiece`, "tokens/s"),
		Better: Higher, Unit: "tokens/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "text-embed", What: "text.embed in a pipeline vs direct ORT calls on the same batches, tiny Llama, 512 rows, 1 ORT thread (issue: ≥ 0.95)",
		Medflow: sel(`BenchmarkTextEmbed/cpu/threads=1`, "stage_ms"), Ref: sel(`BenchmarkTextEmbed/cpu/threads=1`, "direct_ms"),
		RatioMetric: sel(`BenchmarkTextEmbed/cpu/threads=1`, "direct/stage"), Better: Higher, Unit: "ms", Scale: 1, Goal: &Goal{Better: Higher, Bound: 0.95}},
	{ID: "text-embed-2thr", What: "the same with 2 ORT threads",
		Medflow: sel(`BenchmarkTextEmbed/cpu/threads=2`, "stage_ms"), Ref: sel(`BenchmarkTextEmbed/cpu/threads=2`, "direct_ms"),
		RatioMetric: sel(`BenchmarkTextEmbed/cpu/threads=2`, "direct/stage"), Better: Higher, Unit: "ms", Scale: 1, Goal: &Goal{Better: Higher, Bound: 0.95}},
	{ID: "padding-reports", What: "padding fraction of text.embed's length bucketing vs arrival-order batches, synthetic reports in Llama-2 tokens (issue: ≤ 10 %)",
		Medflow: sel(`BenchmarkPadding/synth-reports-llama2-tokens/bucketed`, "padding_%"), Ref: sel(`BenchmarkPadding/synth-reports-llama2-tokens/arrival-order`, "padding_%"),
		Better: Lower, Unit: "%", Scale: 1, Goal: &Goal{OnMedflow: true, Better: Lower, Bound: 10}},
	{ID: "padding-lognormal", What: "the same on lognormal lengths around 120 tokens",
		Medflow: sel(`BenchmarkPadding/lognormal-120/bucketed`, "padding_%"), Ref: sel(`BenchmarkPadding/lognormal-120/arrival-order`, "padding_%"),
		Better: Lower, Unit: "%", Scale: 1, Goal: &Goal{OnMedflow: true, Better: Lower, Bound: 10}},
	{ID: "ort-threads", What: "tiny Llama through ORT, 8 calls of [32, 128]: 2 intra-op threads vs 1 (tokens/s)",
		Medflow: sel(`BenchmarkThreads`, "intra2_tokens/s"), Ref: sel(`BenchmarkThreads`, "intra1_tokens/s"),
		RatioMetric: sel(`BenchmarkThreads`, "intra2/intra1"), Better: Higher, Unit: "tokens/s", Scale: 1},
	{ID: "train-step", What: "fine-tuning step of the tiny ViT (64 px, patch 8, width 64, 2 blocks), batch 64: custom einsum gradients vs GoMLX stock (img/s)",
		Medflow: sel(`BenchmarkTrainStep/custom/batch64`, "img/s"), Ref: sel(`BenchmarkTrainStep/stock/batch64`, "img/s"),
		Better: Higher, Unit: "img/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "train-gflops", What: "achieved GFLOP/s of that training step (3 × forward FLOPs) vs the forward-only pass; the machine's fp32 peak is not measured",
		Medflow: sel(`BenchmarkTrainStep/custom/batch64`, "GFLOP/s"), Ref: sel(`BenchmarkTrainStep/forward/batch64`, "GFLOP/s"),
		Better: Higher, Unit: "GFLOP/s", Scale: 1},
	{ID: "mae-step", What: "MAE pretraining step (75 % masked), batch 64: custom vs stock gradients (img/s)",
		Medflow: sel(`BenchmarkMAEStep/custom/batch64`, "img/s"), Ref: sel(`BenchmarkMAEStep/stock/batch64`, "img/s"),
		Better: Higher, Unit: "img/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "train-step-torch", What: "train-step's tiny-ViT fine-tuning step (fwd + bwd + clip + AdamW, batch 64) vs the same step in PyTorch 1.13 (Debian python3-torch, OpenBLAS, 2 threads; bench/torchref/train_step.py), interleaved runs (img/s)",
		Medflow: sel(`BenchmarkTrainStep/custom/batch64`, "img/s"), Ref: sel(`BenchmarkTorchTrainStep/tiny/batch64`, "img/s"),
		Better: Higher, Unit: "img/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "train-step-vits16-torch", What: "the same step at ViT-S/16 size (224 px, patch 16, width 384, 12 blocks, 6 heads), batch 8, one run each per round, interleaved (img/s)",
		Medflow: sel(`BenchmarkTrainStepViTS16/custom/batch8`, "img/s"), Ref: sel(`BenchmarkTorchTrainStep/vits16/batch8`, "img/s"),
		Better: Higher, Unit: "img/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "train-step-kernels", What: "the tiny step as `make` builds medflow (simplego's float32 matmuls in OpenBLAS, medflow's float32 element-wise/reduction executors: nn/blas) vs simplego's own pure-Go kernels, same run (img/s)",
		Medflow: sel(`BenchmarkTrainStep/custom/batch64`, "img/s"), Ref: sel(`BenchmarkTrainStep/purego/batch64`, "img/s"),
		Better: Higher, Unit: "img/s", Scale: 1},
	{ID: "train-step-ingraph", What: "the tiny step with clip + AdamW in the graph (train.Run's way; parameters stay backend tensors) vs the host optimizer (gradients downloaded, AdamW in Go) (img/s)",
		Medflow: sel(`BenchmarkTrainStep/custom/batch64`, "img/s"), Ref: sel(`BenchmarkTrainStep/hostopt/batch64`, "img/s"),
		Better: Higher, Unit: "img/s", Scale: 1},
	{ID: "eval-1M", What: "metrics.Evaluate, 1M studies × 14 labels (AUC/AP/F1, no bootstrap) vs only sorting the 14 score columns",
		Medflow: sel(`BenchmarkEvaluate/evaluate-1M-x14`, "ns/op"), Ref: sel(`BenchmarkEvaluate/reference-sort-only-1M-x14`, "ns/op"),
		Better: Lower, Unit: "s", Scale: nsToS},
	{ID: "eval-summary-stage", What: "eval.summary stage on 1M prediction rows vs package metrics alone on the folded table",
		Medflow: sel(`BenchmarkSummaryStage/eval.summary-1M-rows`, "ns/op"), Ref: sel(`BenchmarkSummaryStage/reference-metrics-only`, "ns/op"),
		Better: Lower, Unit: "s", Scale: nsToS},
	{ID: "llama-convert-memory", What: "HF safetensors → ONNX conversion of a 108 MB checkpoint: peak extra heap, streaming vs load-all (issue: ≈ one layer)",
		Medflow: sel(`BenchmarkFromHFMemory/stream/float16=false`, "peak-MiB"), Ref: sel(`BenchmarkFromHFMemory/load-all/float16=false`, "peak-MiB"),
		Better: Lower, Unit: "MiB", Scale: 1},
	{ID: "llama-convert-layers", What: "that streaming peak as a multiple of one layer's float32 size",
		Medflow: sel(`BenchmarkFromHFMemory/stream/float16=false`, "x-layer"),
		Better:  Lower, Unit: "layers", Scale: 1, Goal: &Goal{OnMedflow: true, Better: Lower, Bound: 1.5}},
	{ID: "rerun-vs-cold", What: "unchanged rerun vs cold run: `medflow run` of a small materialized ingest (synthetic MIMIC, decode + tokenize) twice in one work dir",
		Medflow: sel(`BenchmarkRerun`, "rerun-s"), Ref: sel(`BenchmarkRerun`, "cold-s"),
		RatioMetric: sel(`BenchmarkRerun`, "rerun/cold"), Better: Lower, Unit: "s", Scale: 1, Goal: &Goal{Better: Lower, Bound: 0.2}},
	{ID: "barrier-input-spill", What: "barrier inputs in the temp dir: spill files of three agg.group_stats over 2M rows (8 MiB of each input in memory), their input materialized (read from the cache once committed) vs streamed (issue: none)",
		Medflow: sel(`BenchmarkBarrierInput/upstream=materialized`, "spill-MiB"), Ref: sel(`BenchmarkBarrierInput/upstream=streamed`, "spill-MiB"),
		Better: Lower, Unit: "MiB", Scale: 1, Goal: &Goal{OnMedflow: true, Better: Lower, Bound: 0}},
	{ID: "barrier-input-time", What: "the same cold runs' wall time: materialized (cache write, three cache reads) vs streamed (three spill copies)",
		Medflow: sel(`BenchmarkBarrierInput/upstream=materialized`, "cold-s"), Ref: sel(`BenchmarkBarrierInput/upstream=streamed`, "cold-s"),
		Better: Lower, Unit: "s", Scale: 1},
	{ID: "embed-resume", What: "text.embed rerun after kill at 50%: `kill -9` once the parts text.embed has committed hold half the tokens a cold run embeds (its work), then rerun; CPU time of the rerun (parts replayed, the rest embedded) vs a cold run of the stage, each less a run that only replays (1,800 phantom studies, random Llama width 512, 2 layers, weights in external data as a converted checkpoint's are)",
		Medflow: sel(`BenchmarkEmbedResume`, "rerun-s"), Ref: sel(`BenchmarkEmbedResume`, "cold-s"),
		RatioMetric: sel(`BenchmarkEmbedResume`, "rerun/cold"), Better: Lower, Unit: "s", Scale: 1, Goal: &Goal{Better: Lower, Bound: 0.55}},
	{ID: "demo", What: "end to end: `medflow run demo` (make demo's study) from a fresh work dir, wall time",
		Medflow: sel(`BenchmarkDemo`, "cold-s"), Better: Lower, Unit: "s", Scale: 1, Goal: &Goal{OnMedflow: true, Better: Lower, Bound: 600}},
	{ID: "demo-rerun", What: "the demo again in the same work dir (everything reused) vs its cold run",
		Medflow: sel(`BenchmarkDemo`, "rerun-s"), Ref: sel(`BenchmarkDemo`, "cold-s"),
		RatioMetric: sel(`BenchmarkDemo`, "rerun/cold"), Better: Lower, Unit: "s", Scale: 1, Goal: &Goal{Better: Lower, Bound: 0.2}},
	{ID: "demo-peak-rss", What: "the demo's cold run: process peak RSS (per stage below)",
		Medflow: sel(`BenchmarkDemo`, "peak-RSS-MiB"), Better: Lower, Unit: "MiB", Scale: 1},
	// GPU rows: bench/gpu/device.sh's results (check.sh's bench-gpu.txt and
	// torch_ref.py's lines, kept in bench/gpu/results/*.txt with a
	// "machine:" line); "not measured" without a GPU run.
	{ID: "gpu-embed", What: "Llama last-layer embeddings at Llama-2-7B width (dim 4096, 32 heads, 2 layers, random weights) on the GPU (text.embed runtime gomlx, xla:cuda) vs ONNX Runtime on the GPU host's CPU cores, whole stage incl. XLA compiles (tokens/s)",
		Medflow: sel(`BenchmarkGPUCheck/embed/gomlx`, "tokens/s"), Ref: sel(`BenchmarkGPUCheck/embed/ort-cpu`, "tokens/s"),
		Better: Higher, Unit: "tokens/s", Scale: 1},
	{ID: "gpu-embed-torch", What: "the same stage vs PyTorch fp32 forward of that Llama on the same GPU, 32 x 256 tokens per call (tokens/s)",
		Medflow: sel(`BenchmarkGPUCheck/embed/gomlx`, "tokens/s"), Ref: sel(`BenchmarkGPUCheck/torch/embed/fp32`, "tokens/s"),
		Better: Higher, Unit: "tokens/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 0.5}},
	{ID: "gpu-mae", What: "ViT-S/16 MAE step at 224 px on xla:cuda, batch 64, steady img/s (median after the compiling first step) vs the same step in PyTorch fp32 (TF32 off) on the same GPU",
		Medflow: sel(`BenchmarkGPUCheck/train/mae`, "img/s"), Ref: sel(`BenchmarkGPUCheck/torch/train/mae-fp32`, "img/s"),
		Better: Higher, Unit: "img/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 0.5}},
	{ID: "gpu-contrastive", What: "contrastive step (ViT-S/16 + attention pool vs 4096-d report embeddings) on xla:cuda, batch 64, steady img/s",
		Medflow: sel(`BenchmarkGPUCheck/train/contrastive`, "img/s"), Better: Higher, Unit: "img/s", Scale: 1},
	{ID: "gpu-finetune", What: "14-label fine-tune step of that encoder (+ attention pool) on xla:cuda, batch 64, steady img/s vs PyTorch fp32 on the same GPU",
		Medflow: sel(`BenchmarkGPUCheck/train/clf`, "img/s"), Ref: sel(`BenchmarkGPUCheck/torch/train/clf-fp32`, "img/s"),
		Better: Higher, Unit: "img/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 0.5}},
	{ID: "gpu-mae-bf16", What: "medflow's fp32 MAE step vs PyTorch with bf16 autocast (what a tuned PyTorch run uses; medflow has no bf16 yet)",
		Medflow: sel(`BenchmarkGPUCheck/train/mae`, "img/s"), Ref: sel(`BenchmarkGPUCheck/torch/train/mae-bf16`, "img/s"),
		Better: Higher, Unit: "img/s", Scale: 1},
	{ID: "gpu-embed-bf16", What: "the embedding stage vs PyTorch bf16 autocast forward of the same Llama",
		Medflow: sel(`BenchmarkGPUCheck/embed/gomlx`, "tokens/s"), Ref: sel(`BenchmarkGPUCheck/torch/embed/bf16`, "tokens/s"),
		Better: Higher, Unit: "tokens/s", Scale: 1},
	soakRow("soak-mae", "train.mae at default budgets (its 4,096-row shuffle buffer fills between the two sizes: see the Soak section)", "mae"),
	soakRow("soak-contrastive", "train.contrastive at default budgets (the same)", "contrastive"),
	soakRow("soak-classifier", "train.classifier (the demo's: fine-tuning the MAE encoder) at default budgets (the same)", "clf-mae"),
	soakRow("soak-predict", "predict.classify", "pred-mae"),
	soakRow("soak-mae-small", "train.mae with small budgets (--spill-mib 8, shuffle_rows 512: both full at 3,000 studies)", "mae-small"),
	soakRow("soak-contrastive-small", "train.contrastive with the same small budgets", "contrastive-small"),
}

// soakRow is the memory-growth row of one stage run alone by `make soak`
// (bench/soak/soak.sh): its process's peak RSS at 30,000 phantom studies
// vs 3,000, goal <= 1.2 (the real-scale issue's bound for the trainers).
func soakRow(id, what, stage string) Row {
	bench := func(n int) *Sel {
		return sel(fmt.Sprintf(`%s/studies=%d/stage=%s`, soakBench, n, stage), "peak-RSS-MiB")
	}
	return Row{ID: id, What: "memory growth with data: peak RSS of " + what + " run alone (`make soak`, one epoch) at 30,000 phantom studies vs 3,000",
		Medflow: bench(30000), Ref: bench(3000), Better: Lower, Unit: "MiB", Scale: 1, Goal: &Goal{Better: Lower, Bound: 1.2}}
}

// Per-stage metrics of BenchmarkDemo: units "stage-s:NAME",
// "stage-MiB:NAME" and "stage-rows:NAME" (seconds, peak RSS and rows out
// of stage NAME in the cold run).
const (
	demoBench       = "BenchmarkDemo"
	stageSecPrefix  = "stage-s:"
	stageMiBPrefix  = "stage-MiB:"
	stageRowsPrefix = "stage-rows:"
	stageRankPrefix = "stage-order:"
)

// `make soak`'s benchmarks (bench/soak/soak.sh): soakBench/studies=N/stage=S
// is stage S run alone, soakRunBench/studies=N/stage=S its figures in the
// cold run of the whole demo (stage "all": the run's peak).
const (
	soakBench    = "BenchmarkSoak"
	soakRunBench = "BenchmarkSoakRun"
)
