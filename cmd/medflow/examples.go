package main

import "github.com/spf13/cobra"

// examples are shown by `medflow COMMAND --help`, keyed by the command's
// path below medflow ("models llama-onnx"). TestEveryCommandHasExamples
// checks that no command is left without.
var examples = map[string]string{
	"run": `  medflow run demo                              # the flagship study at toy size
  medflow run mae-baseline --set mae.epochs=20  # override a param for this run
  medflow run mimic-ingest --shard 0/4          # one of 4 workers over the sharded sources
  medflow run demo --force clf-mae              # recompute a stage and what depends on it
  medflow run demo --target pairs               # only pairs and what it reads from`,
	"plan": `  medflow plan demo                    # table (with what reruns and why) + Mermaid
  medflow plan demo --format text --force embed
  medflow plan demo --format text --target mae  # mae and its upstream only`,
	"validate": `  medflow validate                     # every variant of ./pipelines.yaml
  medflow validate --config deploy/pipelines.yaml`,
	"list": `  medflow list`,
	"kinds": `  medflow kinds | less
  medflow kinds --format markdown > stages/KINDS.md
  medflow kinds --format json-schema > pipelines.schema.json`,
	"version": `  medflow version
  medflow version --verbose   # and whether OpenBLAS runs the training matmuls`,
	"tokenize": `  echo "No acute process." | medflow tokenize --model .cache/tokenizer/tokenizer.model
  medflow tokenize --model tokenizer.model --jsonl < reports.jsonl`,
	"models": `  medflow models llama-onnx --tiny --out data/models/llama-tiny.onnx
  medflow models llama-onnx --from ~/Llama-2-7b-hf --out llama2-7b.onnx --float16 --external-data`,
	"models llama-onnx": `  medflow models llama-onnx --tiny --seed 1 --out data/models/llama-tiny.onnx
  medflow models llama-onnx --from ~/Llama-2-7b-hf --out llama2-7b.onnx --float16 --external-data`,
	"models llama2-tokenizer": `  medflow models llama2-tokenizer --npm llama-tokenizer-js-1.2.2.tgz --out tokenizer.model`,
	"synth": `  medflow synth --out data/demo-mimic --studies 300 --size 256x320 --splits 0.6,0.1,0.3
  medflow synth --out s3://bucket/phantom --studies 3000 --corrupt-fraction 0.03`,
	"runs":  `  medflow runs --work s3://bucket/medflow-work`,
	"show":  `  medflow show 20261204T0915  # a unique prefix of the run id (medflow runs)`,
	"gc":    `  medflow gc --dry-run         # what would be deleted from the work store`,
	"merge": `  medflow merge mimic-ingest --shards 4  # after 4 sharded runs committed`,
	"inspect": `  medflow inspect data/out/pairs             # schema, rows and a sample of a dataset
  medflow inspect s3://bucket/out/pairs/part-00000.arrow`,
	"report": `  medflow report 20261204T0915 # rewrite a run's report.md and report.html`,
}

// addExamples sets Example on every command below root from examples.
func addExamples(root *cobra.Command) {
	var walk func(c *cobra.Command, prefix string)
	walk = func(c *cobra.Command, prefix string) {
		for _, sub := range c.Commands() {
			name := prefix + sub.Name()
			if ex, ok := examples[name]; ok && sub.Example == "" {
				sub.Example = ex
			}
			walk(sub, name+" ")
		}
	}
	walk(root, "")
}
