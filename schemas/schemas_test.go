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

func TestAppendColumns(t *testing.T) {
	md := arrow.NewMetadata([]string{"k"}, []string{"v"})
	in := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, &md)
	for _, tc := range []struct {
		name    string
		add     []arrow.Field
		want    string // String of the output
		wantErr string
	}{
		{"none", nil, "id: int64", ""},
		{"two", []arrow.Field{{Name: "a", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "b", Type: arrow.PrimitiveTypes.Int32}}, "id: int64, a: utf8?, b: int32", ""},
		{"duplicate", []arrow.Field{{Name: "a", Type: arrow.BinaryTypes.String},
			{Name: "id", Type: arrow.PrimitiveTypes.Int32}}, "", `input already has a column "id"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := AppendColumns(in, tc.add...)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want ErrMismatch with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := String(out); got != tc.want {
				t.Errorf("schema %s, want %s", got, tc.want)
			}
			if got := out.Metadata(); !got.Equal(md) {
				t.Errorf("metadata %v, want %v", got, md)
			}
			if in.NumFields() != 1 {
				t.Errorf("input changed: %s", String(in))
			}
		})
	}
}
