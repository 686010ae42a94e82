package metrics_test

import (
	"fmt"

	"github.com/medflow/medflow/metrics"
)

// Evaluate two labels of four studies. Edema's positives .9 .35 .8 face
// the negative .4: 2 of 3 pairs are ordered, AUC 2/3. Fracture has no
// positives, so it is reported as such and left out of the mean AUC.
func ExampleEvaluate() {
	tab := metrics.Table{
		Labels: []string{"Edema", "Fracture"},
		Probs:  []float64{0.9, 0.1, 0.4, 0.2, 0.35, 0.3, 0.8, 0.7},
		Truth:  []uint8{1, 0, 0, 0, 1, 0, 1, 0},
	}
	res, err := metrics.Evaluate(tab, metrics.Options{Threshold: 0.5, Bootstrap: 200, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range res.Labels {
		fmt.Printf("%s: %s, AUC %.3f, accuracy %.2f\n", l.Label, l.Status, l.AUC, l.Confusion.Accuracy())
	}
	s := res.Summary
	fmt.Printf("mean AUC %.3f over %d label(s); exact match %.2f (all-negative %.2f)\n",
		s.MeanAUC, s.LabelsInMean, s.ExactMatch, s.AllNegative)
	// Output:
	// Edema: ok, AUC 0.667, accuracy 0.75
	// Fracture: no positives, AUC NaN, accuracy 0.75
	// mean AUC 0.667 over 1 label(s); exact match 0.50 (all-negative 0.25)
}
