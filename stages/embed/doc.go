// Package embed holds the model-embedding stages, thin adapters from Arrow
// batches to package ort (ONNX Runtime):
//
//   - text.embed: a token-id column (list<int32> or list<int64>, e.g.
//     text.tokenize's input_ids) → a Llama-style ONNX encoder (inputs
//     input_ids, attention_mask int64 [batch, seq]; output
//     last_hidden_state float32 [batch, seq, D]) → one pooled vector per
//     row in the column "embedding" (schemas.EmbeddingColumn),
//     fixed_size_list<float32>[D]. Pooling: mean over the real (unpadded)
//     tokens, last (the last real token) or bos (the first token);
//     optional L2 normalization. Rows longer than max_tokens keep their
//     head (first max_tokens ids) or tail (last ones; a BOS is then cut).
//   - image.embed: an image tensor column fixed_size_list<float32>[C*H*W]
//     (image.decode with dtype float32) → an ONNX image encoder (input
//     pixel_values [batch, C, size, size]; output "embedding" [batch, D],
//     or [batch, tokens, D] pooled by mean or cls = token 0) → the same
//     "embedding" column.
//
// The output keeps every input column and the input row order. Null or
// empty token lists and null images are quarantined with the reason and
// their rows dropped.
//
// # dim is a param
//
// Definition.New must do no I/O (it runs at plan time), but the output
// schema needs D, so D is the required param dim. The model is opened when
// the first batch arrives, and its declared output is checked against dim
// then (ort.ErrContract names the model file, the expected and the actual
// shapes), as are its input/output names and element types.
//
// # Batching
//
// Rows are grouped into ORT calls by package batching: by length class
// (bucket_width tokens wide), so a call pads each row by less than
// bucket_width; a call holds at most batch_tokens padded tokens
// (image.embed: batch_rows images).
// Embeddings do not depend on which rows share a call (tested within 1e-5;
// padded positions are masked and causal attention never looks at them).
//
// With one worker, input batches are held across Process calls until all
// their rows are embedded: calls run as soon as a length class fills one,
// when the held batches have more than hold_rows rows (waiting, or done
// behind an older batch), the oldest batch's waiting rows run in partially
// filled calls; Flush runs the rest and emits what is still held.
// Completed batches are emitted oldest first. With several workers the
// engine calls Process concurrently and keeps output order only if each
// call emits its own batch, so each call returns once its own batch is
// complete; rows of the batches in flight at the same time share ORT calls
// (hold_rows does not apply).
// All workers share one ort.Model: one session with one run slot per
// worker (ORT sessions are safe for concurrent Run; one session holds the
// weights once, which matters for a 7B model).
//
// # Resume by parts
//
// Both kinds implement pipeline.PartKeyer: text.embed's key is key_column
// (default study_id), image.embed's key_column else dicom_id (study_id is
// shared by a study's images); without a key column they resume as a
// whole. Each emitted batch (the kept rows of one input batch; batches are
// emitted in input order, whatever the length buckets) is then, in a
// materialized stage, committed as a part as soon as it is emitted, and a
// rerun after kill -9 embeds only the rows no committed part holds (the
// "embedded" log line counts them; the run record's resumed_rows counts
// the replayed ones) and outputs the same rows, in the same order, as an
// uninterrupted run (TestTextEmbedKillResume in cmd/medflow kills a real
// run at five points and compares the outputs byte for byte). A kill
// loses only the work on rows not yet emitted: with one worker at most
// hold_rows rows held plus the batch in hand. Keys must be unique in the input (one row per
// study: the flagship's per-study text path): a duplicate fails the run.
//
// The model is closed by Flush, by a Process call that fails (the run is
// failing then), and in any case by ReleaseRun (pipeline.Releaser), which
// the engine calls once the run is over: when another stage fails the run
// and Flush is never called, the session and the held input batches are
// released there.
//
// NOT implemented: device-resident (IO-bound) tensors, fp16 inputs,
// dynamic padding to multiples for CUDA graphs, per-row sequence packing,
// attention-mask-free encoders, image preprocessing (resize/normalize is
// image.decode's job).
package embed
