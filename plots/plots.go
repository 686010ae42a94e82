package plots

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// ErrNoData is returned for a figure with nothing to draw.
var ErrNoData = errors.New("plots: nothing to draw")

// Size of every figure.
const (
	Width  = 24 * vg.Centimeter
	Height = 15 * vg.Centimeter
)

// MaxPoints bounds the points of one drawn line: longer series are thinned
// evenly (keeping the first and last point) so figures of a million-study
// ROC curve stay small.
const MaxPoints = 2000

// Figure is one rendered plot.
type Figure struct {
	PNG, SVG []byte
}

// Series is one named line.
type Series struct {
	Name string
	X, Y []float64
}

// Lines draws each series as a line. Points with a NaN coordinate are
// left out.
func Lines(title, xLabel, yLabel string, series []Series) (Figure, error) {
	p := newPlot(title, xLabel, yLabel)
	n := 0
	for i, s := range series {
		if len(s.X) != len(s.Y) {
			return Figure{}, fmt.Errorf("plots: %q: series %q has %d x and %d y values", title, s.Name, len(s.X), len(s.Y))
		}
		xys := points(s.X, s.Y)
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return Figure{}, fmt.Errorf("plots: %q: series %q: %w", title, s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.2)
		p.Add(l)
		if s.Name != "" {
			p.Legend.Add(s.Name, l)
		}
		n++
	}
	if n == 0 {
		return Figure{}, fmt.Errorf("%w: %q", ErrNoData, title)
	}
	return render(p, title)
}

// TrainingCurve draws loss against step: the train split as a line and the
// validate split (one point per epoch) as a line with markers.
func TrainingCurve(title string, train, validate Series) (Figure, error) {
	train.Name, validate.Name = nonEmpty(train.Name, "train"), nonEmpty(validate.Name, "validate")
	p := newPlot(title, "step", "loss")
	n := 0
	if xys := points(train.X, train.Y); len(xys) > 0 {
		l, err := plotter.NewLine(xys)
		if err != nil {
			return Figure{}, fmt.Errorf("plots: %q: train: %w", title, err)
		}
		l.Color = plotutil.Color(0)
		p.Add(l)
		p.Legend.Add(train.Name, l)
		n++
	}
	if xys := points(validate.X, validate.Y); len(xys) > 0 {
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return Figure{}, fmt.Errorf("plots: %q: validate: %w", title, err)
		}
		l.Color, s.Color = plotutil.Color(1), plotutil.Color(1)
		s.Shape = draw.CircleGlyph{}
		p.Add(l, s)
		p.Legend.Add(validate.Name, l, s)
		n++
	}
	if n == 0 {
		return Figure{}, fmt.Errorf("%w: %q", ErrNoData, title)
	}
	return render(p, title)
}

// ROC draws one small ROC panel per curve (X false positive rate, Y true
// positive rate, with the chance diagonal), ROCColumns panels a row, each
// titled with its curve's name: fourteen labels stay readable, where one
// plot with fourteen overlapping curves and a legend would not.
func ROC(title string, curves []Series) (Figure, error) {
	var panels []*plot.Plot
	for _, c := range curves {
		xys := points(c.X, c.Y)
		if len(xys) == 0 {
			continue
		}
		p := plot.New()
		p.Title.Text = c.Name
		p.Title.TextStyle.Font.Size = vg.Points(9)
		p.X.Label.Text, p.Y.Label.Text = "FPR", "TPR"
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		for _, ax := range []*plot.Axis{&p.X, &p.Y} {
			ax.Label.TextStyle.Font.Size = vg.Points(7)
			ax.Tick.Label.Font.Size = vg.Points(6)
		}
		diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
		if err != nil {
			return Figure{}, err
		}
		diag.Color = color.Gray{Y: 170}
		diag.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return Figure{}, fmt.Errorf("plots: %q: curve %q: %w", title, c.Name, err)
		}
		l.Color = plotutil.Color(0)
		l.Width = vg.Points(1.3)
		p.Add(diag, l)
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return Figure{}, fmt.Errorf("%w: %q", ErrNoData, title)
	}
	cols := min(ROCColumns, len(panels))
	rows := (len(panels) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, p := range panels {
		grid[i/cols][i%cols] = p
	}
	const titleH = 1 * vg.Centimeter
	w, h := vg.Length(cols)*PanelSide, vg.Length(rows)*PanelSide+titleH
	draw := func(c draw.Canvas) {
		ts := plot.New().Title.TextStyle
		ts.Font.Size = vg.Points(12)
		ts.XAlign, ts.YAlign = draw.XCenter, draw.YTop
		c.FillText(ts, vg.Point{X: w / 2, Y: h - vg.Points(6)}, title)
		body := draw.Crop(c, 0, 0, 0, -titleH)
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 2, PadY: vg.Millimeter * 2,
			PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: vg.Millimeter * 2}
		canvases := plot.Align(grid, tiles, body)
		for r := range grid {
			for k, p := range grid[r] {
				if p != nil {
					p.Draw(canvases[r][k])
				}
			}
		}
	}
	return renderCanvas(w, h, title, draw)
}

// ROCColumns is the number of ROC panels per row; PanelSide the side of
// one panel.
const (
	ROCColumns = 4
	PanelSide  = 6 * vg.Centimeter
)

// BarSeries is one model's values, one per group.
type BarSeries struct {
	Name   string
	Values []float64
}

// Bars draws grouped bars: for each group (a label) one bar per series (a
// model). NaN values leave an empty slot. yMin and yMax fix the value axis
// when yMax > yMin; a fifth more is added on top for the legend.
func Bars(title, yLabel string, groups []string, series []BarSeries, yMin, yMax float64) (Figure, error) {
	if len(groups) == 0 || len(series) == 0 {
		return Figure{}, fmt.Errorf("%w: %q", ErrNoData, title)
	}
	p := newPlot(title, "", yLabel)
	w := vg.Points(math.Max(2, 300/float64(len(groups)*len(series))))
	for i, s := range series {
		if len(s.Values) != len(groups) {
			return Figure{}, fmt.Errorf("plots: %q: series %q has %d values for %d groups", title, s.Name, len(s.Values), len(groups))
		}
		vals := make(plotter.Values, len(s.Values))
		for k, v := range s.Values {
			if !math.IsNaN(v) {
				vals[k] = v
			}
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return Figure{}, fmt.Errorf("plots: %q: series %q: %w", title, s.Name, err)
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Width = 0
		b.Offset = w * vg.Length(float64(i)-float64(len(series)-1)/2)
		p.Add(b)
		p.Legend.Add(s.Name, b)
	}
	if yMax > yMin {
		p.Y.Min, p.Y.Max = yMin, yMax+(yMax-yMin)/5
	}
	p.NominalX(groups...)
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.Legend.Top = true
	return render(p, title)
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// points pairs x and y, drops NaN/Inf points and thins to MaxPoints.
func points(x, y []float64) plotter.XYs {
	out := make(plotter.XYs, 0, min(len(x), len(y)))
	for i := range min(len(x), len(y)) {
		if bad(x[i]) || bad(y[i]) {
			continue
		}
		out = append(out, plotter.XY{X: x[i], Y: y[i]})
	}
	return thin(out, MaxPoints)
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// thin keeps at most max points, evenly spaced by index, first and last
// included.
func thin(xys plotter.XYs, max int) plotter.XYs {
	if len(xys) <= max {
		return xys
	}
	out := make(plotter.XYs, max)
	for k := range max {
		out[k] = xys[k*(len(xys)-1)/(max-1)]
	}
	return out
}

func render(p *plot.Plot, title string) (Figure, error) {
	var f Figure
	for _, format := range []string{"png", "svg"} {
		wt, err := p.WriterTo(Width, Height, format)
		if err != nil {
			return Figure{}, fmt.Errorf("plots: %q as %s: %w", title, format, err)
		}
		var buf bytes.Buffer
		if _, err := wt.WriteTo(&buf); err != nil {
			return Figure{}, fmt.Errorf("plots: %q as %s: %w", title, format, err)
		}
		if format == "png" {
			f.PNG = buf.Bytes()
		} else {
			f.SVG = buf.Bytes()
		}
	}
	return f, nil
}

// renderCanvas renders what draw draws on a w×h canvas as PNG and SVG.
func renderCanvas(w, h vg.Length, title string, drawFn func(draw.Canvas)) (Figure, error) {
	png := vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	svg := vgsvg.New(w, h)
	var f Figure
	for i, c := range []vg.CanvasWriterTo{png, svg} {
		drawFn(draw.New(c))
		var buf bytes.Buffer
		if _, err := c.WriteTo(&buf); err != nil {
			return Figure{}, fmt.Errorf("plots: %q: %w", title, err)
		}
		if i == 0 {
			f.PNG = buf.Bytes()
		} else {
			f.SVG = buf.Bytes()
		}
	}
	return f, nil
}
