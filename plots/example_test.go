package plots_test

import (
	"fmt"

	"github.com/medflow/medflow/plots"
)

// Draw one label's ROC curve; the figure comes back as PNG and SVG bytes.
func ExampleROC() {
	f, err := plots.ROC("ROC", []plots.Series{{Name: "Edema", X: []float64{0, 0, 0.5, 0.5, 1}, Y: []float64{0, 0.5, 0.5, 1, 1}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(f.PNG[1:4]), len(f.SVG) > 0)
	// Output: PNG true
}
