// Package nn holds the GoMLX model code of medflow's image encoders: a
// ViT (patchify by reshape, pre-LN blocks, multi-head attention scaled by
// 1/sqrt(head dim), GELU MLP, sin-cos or learned 2-D position embeddings),
// a masked-autoencoder decoder and loss, attention pooling with a
// projection to the text-embedding size, the losses (the poster's margin
// contrastive loss, symmetric InfoNCE with a learnable temperature, masked
// BCE) and AdamW with a warm-up + cosine schedule and global-norm clipping.
// It has no Arrow or pipeline dependency; package train runs it.
//
// Parameters are kept in Go memory (Params, row-major float32) between
// runs. Training uses TrainStep: one compiled graph does forward,
// backward, global-norm clipping and the AdamW update (learning rate and
// bias corrections as scalar inputs, decay mask as Decays), and the
// parameters and moments stay backend tensors between steps (their
// buffers donated to the next step, simplego's included); each step
// downloads only the loss and gradient norm, and Sync
// downloads the state for validation, checkpoints and the end. The host
// path (Step's gradients, ClipGlobalNorm, AdamW.Update in Go) is kept as
// the reference TrainStep is tested against and for benchmarks. Every
// matmul goes through FastEinsum, whose gradients are einsums (see
// there): with GoMLX's own DotGeneral gradient the backward costs ~7x the
// forward on the pure-Go backend; its weight gradients contract the batch
// in 8 chunks (chunkedEinsum), which simplego spreads over the cores.
//
// MAE masking uses one-hot selection matrices (sel [B,K,N]) multiplied in
// with einsums rather than Gather: their gradient is again an einsum, while
// Gather needs a scatter and Slice's gradient needs Pad, which simplego
// lacks. The mask differs per image and per step (drawn by package train
// from the seed and step). There is no CLS token: features are the mean
// of the patch tokens or the attention pool. A classifier is
// ClassifierFeatures then ClassifierHead; with frozen features
// (Config.FrozenFeatures: probe mode, no fresh pool) HeadStep trains the
// head alone on features computed once.
//
// Backend: Backend() reads GOMLX_BACKEND; the default is
// "go:ops_sequential,parallelism=-1" (simplego). Built by the Makefile
// (-tags medflowblas and its GoMLX workspace), simplego's float32
// DotGeneral runs in OpenBLAS and its float32 element-wise and reduction
// ops in medflow's executors (package nn/blas; MatmulKernels and
// FastKernels say what runs, and the backend's creation is logged with
// them); a plain go build keeps simplego's pure-Go kernels.
// simplego's default config deadlocks on 2 cores with these graphs, and its
// parallel op scheduler has a data race on buffer reuse (see
// DefaultBackend); sequential ops with parallel matmuls avoid both.
// backends/default is never imported (it would try to download a PJRT
// plugin). To train on a GPU, build with -tags xla (adds
// github.com/gomlx/gomlx/backends/xla; needs github.com/gomlx/go-xla in
// go.sum) and run with GOMLX_BACKEND=xla:cuda and GOMLX_NO_AUTO_INSTALL=1
// with a PJRT CUDA plugin installed; the graphs are the same. This GPU path
// is not verified here (no GPU, no plugin).
//
// Not implemented: mixed precision, gradient accumulation, dropout and
// stochastic depth, a CLS token; validation and inference (Func) still
// upload the parameters per call. The in-graph step is tested on
// simplego; the xla build compiles it but it has not run on XLA here (no
// PJRT plugin on this machine) nor on a GPU yet.
package nn
