// Package plots draws the evaluation and training figures of a medflow run
// with gonum.org/v1/plot and returns each as PNG and SVG bytes, ready to be
// stored as artifacts or embedded in a report.
//
// Implemented: line charts of several series (Lines), training curves of
// loss against step with the train and validate splits as separate lines
// (TrainingCurve, the poster's Figure 2), ROC curves of several labels
// with the chance diagonal (ROC; long curves are thinned to at most
// MaxPoints points, keeping the first and last), and grouped bar charts
// (Bars: one group per label, one bar per compared model).
//
// Not implemented: interactive output, log axes, error bars, PDF/EPS.
// Values that are NaN are drawn as gaps in lines and as empty bars.
package plots
