package mimic_test

import (
	"fmt"
	"strings"

	"github.com/medflow/medflow/mimic"
)

func ExampleImageKey() {
	fmt.Println(mimic.ImageKey(10000032, 50414267, "02aa804e-bde0afdd-112c0b34-7bc16630-4e384014"))
	fmt.Println(mimic.ReportKey(10000032, 50414267))
	// Output:
	// files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg
	// files/p10/p10000032/s50414267.txt
}

func ExampleParseReport() {
	r := mimic.ParseReport([]byte(`                                 FINAL REPORT
 INDICATION:  ___ year old man with cough.
 
 FINDINGS:  Lungs are clear.
 No effusion.
 
 IMPRESSION:  No acute process.
 ______________________________________________________________________________
 ADDENDUM:  Discussed with Dr. ___.
`))
	sel, _ := mimic.ParseSelector(mimic.DefaultSelection)
	text, _ := r.Select(sel)
	fmt.Println(r.SectionNames())
	fmt.Println(text)
	fmt.Println(r.Addenda)
	// Output:
	// [INDICATION FINDINGS IMPRESSION]
	// Lungs are clear. No effusion. No acute process.
	// [ADDENDUM: Discussed with Dr. ___.]
}

func ExampleBuild() {
	blank := strings.Repeat(",", 11)
	ix, err := mimic.Build(mimic.Tables{
		Metadata: mimic.Input{Name: "metadata.csv", R: strings.NewReader(
			"dicom_id,subject_id,study_id,ViewPosition,Rows,Columns\n" +
				"bb,10000032,50414267,PA,3056,2544\n" +
				"aa,10000032,50414267,LATERAL,3056,2544\n" +
				"cc,10000032,50414267,AP,3056,2544\n")},
		Split: mimic.Input{Name: "split.csv", R: strings.NewReader(
			"dicom_id,study_id,subject_id,split\nbb,50414267,10000032,train\naa,50414267,10000032,train\ncc,50414267,10000032,train\n")},
		Labels: mimic.Input{Name: "chexpert.csv", R: strings.NewReader(
			"subject_id,study_id," + strings.Join(mimic.LabelNames[:], ",") + "\n" +
				"10000032,50414267,1.0,-1.0" + blank + ",\n")},
	}, mimic.Options{Policy: mimic.UniformPolicy(mimic.Ignore, mimic.Zeros)})
	if err != nil {
		panic(err)
	}
	for e := range ix.Shard(0, 1) {
		fmt.Println(e.DicomID, e.View, e.Split, e.Labels[:3], e.Mask[:3])
	}
	// Output:
	// bb PA train [1 0 0] [1 0 1]
	// cc AP train [1 0 0] [1 0 1]
}

func ExampleParsePolicy() {
	p, _ := mimic.ParsePolicy(map[string]any{"default": "zeros", "Atelectasis": "ones", "Edema": "ignore"}, "ignore")
	raw := [mimic.NumLabels]mimic.Label{mimic.Uncertain, mimic.Uncertain, mimic.Positive, mimic.Uncertain}
	vals, mask := p.Apply(&raw)
	fmt.Println(vals[:5], mask[:5])
	// Output: [1 0 1 0 0] [1 1 1 0 0]
}
