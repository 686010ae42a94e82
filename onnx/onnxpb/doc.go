// Package onnxpb holds the Go types of the ONNX protobuf schema (ModelProto,
// GraphProto, NodeProto, TensorProto, ...), generated once and committed so
// that builds never need protoc.
//
// How it was generated (see the `onnx-proto` target in mk/onnx.mk):
//
//	apt-get install -y protobuf-compiler libonnx-dev   # protoc 3.21.12, onnx 1.12.0 (Debian 12)
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	cp /usr/include/onnx/onnx.proto .
//	protoc --go_out=. --go_opt=paths=source_relative \
//	    --go_opt=Monnx.proto=github.com/medflow/medflow/onnx/onnxpb onnx.proto
//
// The source is Debian libonnx-dev 1.12.0's onnx.proto (proto2, package
// "onnx", IR version 8, opsets up to 17). Implemented: the generated message
// types only. NOT implemented here: any graph building, checking or shape
// inference (see package onnx/graph for the builder).
package onnxpb
