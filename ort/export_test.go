package ort

import onnx "github.com/yalue/onnxruntime_go"

// Signature is signature, for the tests.
var Signature = signature

// SessionInfo is what an ONNX Runtime session built from path with
// default options reports as its inputs and outputs (ORT must be
// initialized).
func SessionInfo(path string) (inputs, outputs []Info, err error) {
	in, out, err := onnx.GetInputOutputInfo(path)
	if err != nil {
		return nil, nil, err
	}
	return infos(in), infos(out), nil
}
