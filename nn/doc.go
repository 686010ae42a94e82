// Package nn holds the GoMLX model code of medflow's image encoders: a
// ViT (patchify by reshape, pre-LN blocks, multi-head attention scaled by
// 1/sqrt(head dim), GELU MLP, sin-cos or learned 2-D position embeddings),
// a masked-autoencoder decoder and loss, attention pooling with a
// projection to the text-embedding size, the losses (the poster's margin
// contrastive loss, symmetric InfoNCE with a learnable temperature, masked
// BCE) and AdamW with a warm-up + cosine schedule and global-norm clipping.
// It has no Arrow or pipeline dependency; package train runs it.
//
// Parameters live in Go memory (Params, row-major float32) and enter each
// compiled graph as inputs; the optimizer runs on the host. Every matmul
// goes through FastEinsum, whose gradients are einsums (see there): with
// GoMLX's own DotGeneral gradient the backward costs ~7x the forward on
// the pure-Go backend.
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
// "go:ops_sequential,parallelism=-1" (pure-Go simplego, no native library).
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
// stochastic depth, a CLS token, the optimizer on the device (parameters
// are uploaded each step, fine for these sizes, a cost for ViT-B on GPU).
package nn
