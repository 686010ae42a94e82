package schemas

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestParseColumns(t *testing.T) {
	s, err := ParseColumns([]string{"id:int64", " name : utf8? ", "v:float64"})
	if err != nil {
		t.Fatal(err)
	}
	if got := String(s); got != "id: int64, name: utf8?, v: float64" {
		t.Fatalf("schema %s", got)
	}
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "no columns"},
		{[]string{"id"}, `column "id": want "name:type"`},
		{[]string{"id:int65"}, `column "id": unknown type "int65"`},
		{[]string{"a:int64", "a:utf8"}, `column "a": declared twice`},
	} {
		if _, err := ParseColumns(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseColumns(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestRequire(t *testing.T) {
	if err := Require(Demo, Demo.Field(0), Demo.Field(2)); err != nil {
		t.Fatal(err)
	}
	err := Require(Demo, arrow.Field{Name: "id", Type: arrow.BinaryTypes.String}, arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int8})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{`column "id" is int64, want utf8`, `missing column "x" (int8)`, "input has: id: int64, group: utf8, value: float64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
}

func TestColumn(t *testing.T) {
	if i, err := Column(Demo, "value", arrow.FLOAT32, arrow.FLOAT64); i != 2 || err != nil {
		t.Fatalf("%d %v", i, err)
	}
	if _, err := Column(Demo, "group", arrow.FLOAT64); err == nil || !strings.Contains(err.Error(), `column "group" is utf8, want one of float64`) {
		t.Fatalf("%v", err)
	}
	if _, err := Column(Demo, "nope"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("%v", err)
	}
}
