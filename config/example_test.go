package config_test

import (
	"fmt"

	"github.com/medflow/medflow/config"
)

func ExampleParse() {
	src := []byte(`
variants:
  demo:
    description: read CSV, scale a column
    stages:
      - name: read
        kind: csv.read
        params: {uri: ./data/demo/in}
      - name: scale
        kind: col.scale
        inputs: [read]
        params: {column: value, factor: 2.5}
  demo-big:
    extends: demo
    stages:
      - name: read
        params: {uri: ./data/big}
      - name: write
        kind: parquet.write
        inputs: [scale]
`)
	f, err := config.Parse("pipelines.yaml", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Variants())

	set, _ := config.ParseSet("scale.factor=3") // from --set
	spec, err := f.Variant("demo-big", []config.Override{set})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range spec.Stages {
		fmt.Println(s.Name, s.Kind, s.Inputs, s.Params)
	}

	_, err = config.Parse("pipelines.yaml", []byte("variants:\n  v:\n    stages:\n      - name: s\n        kind: k\n        workers: two\n"))
	fmt.Println(err)
	// Output:
	// [demo demo-big]
	// read csv.read [] map[uri:./data/big]
	// scale col.scale [read] map[column:value factor:3]
	// write parquet.write [scale] map[]
	// pipelines.yaml:6: variant "v": stage "s": key "workers": want an integer, got "two"
}
