// Package ort runs ONNX models with ONNX Runtime (the C library, loaded at
// run time through github.com/yalue/onnxruntime_go v1.27.0). It has no Arrow
// or pipeline dependency: stages (text.embed, image.embed) adapt it.
//
// What it does:
//
//   - Finds the shared library: Options.Library, else $MEDFLOW_ORT_LIB, else
//     .cache/onnxruntime/libonnxruntime.so.1 in the working directory or one
//     of its parents (`make onnxruntime-lib` puts it there). A missing
//     library is ErrNoLibrary, naming every path tried.
//   - Initialises the ONNX Runtime environment once per process (guarded by
//     a mutex; a failed attempt may be retried, asking for a second, different
//     library afterwards is an error because ORT holds one per process).
//   - Builds session options from Options: intra-/inter-op threads, graph
//     optimization level (disable|basic|extended|all), execution provider
//     cpu or cuda (device id). For cuda the provider libraries
//     libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so
//     must lie beside the library; their absence is ErrNoCUDAProvider naming
//     the missing files and the folder (checked before ORT is asked).
//   - Checks a model against the Contract the caller expects (input/output
//     names, element types, ranks and any fixed dims) when it is loaded, with
//     the model's own input/output info, read from the file without loading
//     the weights (onnx/onnxwire; a model that leaves a shape undeclared is
//     asked through a light session, which infers it); a mismatch is
//     ErrContract naming the model file, what was expected and what the
//     model has, found before any session is built.
//   - Shares a model between goroutines through a pool: Options.Sessions
//     ORT sessions and Options.Concurrency run slots over them. ORT's
//     Session.Run is thread-safe, so one session with several slots is valid
//     and holds the weights once (the default: Sessions 1, Concurrency 1).
//     BenchmarkPool (2 callers, tiny Llama, 2 shared cores): one session
//     with 2 slots ran at 1.10× the speed of 2 sessions (median of 5), so
//     text.embed uses one session with one slot per worker.
//   - Runs with dynamic shapes: every Run may use a different [batch, seq].
//     Inputs are wrapped, not copied; outputs are written into caller buffers
//     when given, else allocated. A cancelled context terminates a running
//     Run (RunOptions.Terminate).
//
// NOT implemented: IO binding / device-resident tensors (CUDA runs copy
// inputs and outputs through host memory), string/sequence/map inputs,
// TensorRT or other providers, per-session custom metadata, model
// conversion. The library is never downloaded at run time.
package ort
