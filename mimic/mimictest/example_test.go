package mimictest_test

import (
	"fmt"
	"sort"

	"github.com/medflow/medflow/mimic/mimictest"
)

func ExampleGenerate() {
	tree, err := mimictest.Generate(mimictest.Config{Studies: 2, Images: 3, Reports: true, ImageFiles: true, Gzip: true})
	if err != nil {
		panic(err)
	}
	var keys []string
	for k := range tree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Println(k)
	}
	// Output:
	// files/p10/p10000032/s50000011.txt
	// files/p10/p10000032/s50000011/7b1dcdaf-e220a839-a1b965f4-6e789e6a-8009454f.jpg
	// files/p10/p10000032/s50000011/89025cc1-910a2dec-658eec67-beeb8da1-fb32555e.jpg
	// files/p10/p10000032/s50000048.txt
	// files/p10/p10000032/s50000048/1c9756ce-975835de-0bfc1e42-bfc84610-dd7e532f.jpg
	// mimic-cxr-2.0.0-chexpert.csv.gz
	// mimic-cxr-2.0.0-metadata.csv.gz
	// mimic-cxr-2.0.0-negbio.csv.gz
	// mimic-cxr-2.0.0-split.csv.gz
}
