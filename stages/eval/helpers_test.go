package eval

import (
	"testing"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/stages/eval/evaltest"
)

type image = evaltest.Image

func img(study int64, dicom string, probs, labels []float32, mask []uint8) image {
	return image{Study: study, Dicom: dicom, Probs: probs, Labels: labels, Mask: mask}
}

func registerPredictions(reg *pipeline.Registry, kind string, imgs []image, batch int) {
	if err := evaltest.Register(reg, kind, imgs, batch); err != nil {
		panic(err)
	}
}

func newRegistry(t *testing.T, imgs []image) *pipeline.Registry {
	t.Helper()
	reg := pipeline.NewRegistry()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	registerPredictions(reg, "test.predictions", imgs, 2)
	return reg
}

var st = pipelinetest.Stage
