package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/medflow/medflow/llama"
)

// llamaONNXCmd is `medflow models llama-onnx`: write a tiny random
// Llama-architecture ONNX model, or convert a Hugging Face checkpoint.
func llamaONNXCmd() *cobra.Command {
	var (
		tiny, f16, external bool
		from, out           string
		seed                int64
		shape               llama.Config
	)
	cmd := &cobra.Command{
		Use:   "llama-onnx (--tiny | --from HF_DIR) --out model.onnx",
		Short: "Write a Llama-architecture ONNX model (input_ids, attention_mask -> last_hidden_state)",
		Long: "--tiny writes a random-weight model (TinyConfig: vocab 32000, dim 64, 2 layers, 4 heads, 2 KV heads;\n" +
			"override with --dim/--layers/...) with deterministic weights from --seed.\n" +
			"--from converts a Hugging Face Llama checkpoint (config.json + *.safetensors, F32/F16/BF16),\n" +
			"streaming the weights into OUT.data (external data) one tensor at a time.\n" +
			"--float16 stores float16 weights (the graph computes in float32).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("models llama-onnx: --out is required")
			}
			if tiny == (from != "") {
				return errors.New("models llama-onnx: give exactly one of --tiny and --from")
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			opt := llama.WriteOptions{Float16: f16, ExternalData: external}
			var cfg llama.Config
			if tiny {
				cfg = llama.TinyConfig()
				fl := cmd.Flags()
				for name, dst := range map[string]*int{
					"vocab": &cfg.Vocab, "dim": &cfg.Dim, "layers": &cfg.Layers, "heads": &cfg.Heads,
					"kv-heads": &cfg.KVHeads, "hidden": &cfg.Hidden, "max-seq": &cfg.MaxSeq,
				} {
					if fl.Changed(name) {
						*dst, _ = fl.GetInt(name)
					}
				}
				if fl.Changed("dim") && !fl.Changed("hidden") {
					cfg.Hidden = llama.HiddenFor(cfg.Dim)
				}
				if err := cfg.Validate(); err != nil {
					return fmt.Errorf("models llama-onnx: %w", err)
				}
				if err := llama.WriteONNX(out, cfg, llama.RandomWeights(cfg, seed), opt); err != nil {
					return err
				}
			} else {
				var err error
				if cfg, err = llama.FromHF(from, out, opt); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (vocab %d, dim %d, layers %d, heads %d, kv heads %d, hidden %d, max seq %d)\n",
				out, cfg.Vocab, cfg.Dim, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.Hidden, cfg.MaxSeq)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&tiny, "tiny", false, "write a tiny random-weight model")
	fl.StringVar(&from, "from", "", "Hugging Face checkpoint directory to convert")
	fl.StringVar(&out, "out", "", "ONNX model to write (weights in OUT.data with --from or --external-data)")
	fl.Int64Var(&seed, "seed", 1, "random seed for --tiny weights")
	fl.BoolVar(&f16, "float16", false, "store weights as float16")
	fl.BoolVar(&external, "external-data", false, "store weights in OUT.data (always on with --from)")
	def := llama.TinyConfig()
	fl.IntVar(&shape.Vocab, "vocab", def.Vocab, "--tiny: vocabulary size")
	fl.IntVar(&shape.Dim, "dim", def.Dim, "--tiny: model width (changes --hidden to ~2.7*dim unless given)")
	fl.IntVar(&shape.Layers, "layers", def.Layers, "--tiny: decoder layers")
	fl.IntVar(&shape.Heads, "heads", def.Heads, "--tiny: attention heads")
	fl.IntVar(&shape.KVHeads, "kv-heads", def.KVHeads, "--tiny: key/value heads (grouped-query attention)")
	fl.IntVar(&shape.Hidden, "hidden", def.Hidden, "--tiny: MLP width")
	fl.IntVar(&shape.MaxSeq, "max-seq", def.MaxSeq, "--tiny: longest sequence (rotary table length)")
	return cmd
}
