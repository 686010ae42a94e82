package ort

import "errors"

// Sentinel errors; every returned error wraps one of them (test with errors.Is).
var (
	// ErrNoLibrary: the ONNX Runtime shared library was not found or could
	// not be loaded.
	ErrNoLibrary = errors.New("ort: ONNX Runtime library not available")
	// ErrNoCUDAProvider: provider cuda was asked for but the CUDA provider
	// libraries are missing or could not be loaded.
	ErrNoCUDAProvider = errors.New("ort: CUDA execution provider not available")
	// ErrContract: the model's inputs/outputs differ from what the caller expects.
	ErrContract = errors.New("ort: model does not match the expected contract")
	// ErrOptions: invalid Options.
	ErrOptions = errors.New("ort: invalid options")
	// ErrInput: a Run argument has the wrong count, type or shape.
	ErrInput = errors.New("ort: invalid run input")
	// ErrLoad: ONNX Runtime could not create a session for the model.
	ErrLoad = errors.New("ort: cannot load model")
	// ErrRun: ONNX Runtime failed while running the model.
	ErrRun = errors.New("ort: run failed")
	// ErrClosed: the model was closed.
	ErrClosed = errors.New("ort: model closed")
)
