package cxrschema

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/medflow/medflow/schemas"
)

func TestMIMICIndex(t *testing.T) {
	if len(LabelNames) != 14 {
		t.Fatalf("%d label names", len(LabelNames))
	}
	for _, name := range []string{"labels", "label_mask"} {
		idx := MIMICIndex.FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %s", name)
		}
		fl, ok := MIMICIndex.Field(idx[0]).Type.(*arrow.FixedSizeListType)
		if !ok || fl.Len() != 14 {
			t.Errorf("%s is %s, want fixed_size_list[14]", name, MIMICIndex.Field(idx[0]).Type)
		}
	}
	if err := schemas.Require(MIMICIndex, arrow.Field{Name: "report_key", Type: arrow.BinaryTypes.String}); err != nil {
		t.Error(err)
	}
}
