package plots

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"strings"
	"testing"
)

func TestFigures(t *testing.T) {
	long := Series{Name: "long"}
	for i := range 10 * MaxPoints {
		long.X = append(long.X, float64(i))
		long.Y = append(long.Y, math.Sqrt(float64(i)))
	}
	for _, tc := range []struct {
		name  string
		draw  func() (Figure, error)
		title string
	}{
		{"lines", func() (Figure, error) {
			return Lines("loss curve", "step", "loss", []Series{{Name: "a", X: []float64{0, 1, 2}, Y: []float64{3, 2, math.NaN()}}, long})
		}, "loss curve"},
		{"training curve", func() (Figure, error) {
			return TrainingCurve("train.mae", Series{X: []float64{1, 2, 3, 4}, Y: []float64{4, 3, 2.5, 2}},
				Series{X: []float64{2, 4}, Y: []float64{3.5, 2.6}})
		}, "train.mae"},
		{"roc", func() (Figure, error) {
			return ROC("ROC per label", []Series{{Name: "Edema", X: []float64{0, 0, 0.5, 0.5, 1}, Y: []float64{0, 0.5, 0.5, 1, 1}}})
		}, "ROC per label"},
		{"bars", func() (Figure, error) {
			return Bars("AUC per label", "AUC", []string{"Atelectasis", "Edema", "Fracture"},
				[]BarSeries{{"mae", []float64{0.7, 0.8, math.NaN()}}, {"contrastive", []float64{0.75, 0.82, 0.6}}}, 0, 1)
		}, "AUC per label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tc.draw()
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(f.PNG))
			if err != nil {
				t.Fatalf("PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
				t.Errorf("PNG is %v", b)
			}
			svg := string(f.SVG)
			if !strings.Contains(svg, "<svg") || !strings.Contains(svg, tc.title) {
				t.Errorf("SVG lacks <svg or the title %q", tc.title)
			}
		})
	}
}

func TestThin(t *testing.T) {
	xs := make([]float64, 5*MaxPoints+3)
	for i := range xs {
		xs[i] = float64(i)
	}
	got := points(xs, xs)
	if len(got) != MaxPoints || got[0].X != 0 || got[len(got)-1].X != xs[len(xs)-1] {
		t.Fatalf("thinned to %d points, first %v last %v", len(got), got[0], got[len(got)-1])
	}
}

func TestNoData(t *testing.T) {
	for name, draw := range map[string]func() (Figure, error){
		"lines": func() (Figure, error) { return Lines("x", "", "", nil) },
		"all NaN": func() (Figure, error) {
			return Lines("x", "", "", []Series{{X: []float64{math.NaN()}, Y: []float64{1}}})
		},
		"roc":   func() (Figure, error) { return ROC("x", nil) },
		"bars":  func() (Figure, error) { return Bars("x", "", nil, nil, 0, 0) },
		"train": func() (Figure, error) { return TrainingCurve("x", Series{}, Series{}) },
	} {
		if _, err := draw(); !errors.Is(err, ErrNoData) {
			t.Errorf("%s: error %v, want ErrNoData", name, err)
		}
	}
	if _, err := Bars("x", "", []string{"a"}, []BarSeries{{"m", []float64{1, 2}}}, 0, 0); err == nil || errors.Is(err, ErrNoData) {
		t.Errorf("ragged bars: error %v", err)
	}
}
