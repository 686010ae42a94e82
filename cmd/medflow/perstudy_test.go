package main

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/internal/testenv"
	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/mimic"
	"github.com/medflow/medflow/mimic/mimictest"
)

// TestPerStudyText (issue 13, item 1): the text side runs once per study
// and the pairs once per kept image, on studies with 1, 2 and 3 images
// (second images partly dropped by the view filter) and one study whose
// report is missing: embedded rows = studies with a kept image and a
// report, each study_id once; pairs = the kept images of those studies.
func TestPerStudyText(t *testing.T) {
	t.Setenv("MEDFLOW_ORT_LIB", testenv.ORTLibrary(t))
	npm := testenv.Llama2NPM(t)
	dir := t.TempDir()
	cfg := mimictest.Config{Studies: 24, Images: 38, Triples: 4, Reports: true, Seed: 7}
	tree, err := mimictest.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Study 4 has two frontal images (View(4, 1) is PA): its report goes.
	missing := mimic.ReportKey(mimictest.Subject(4), mimictest.Study(4))
	if _, ok := tree[missing]; !ok {
		t.Fatalf("no report %s in the fixture", missing)
	}
	delete(tree, missing)
	if err := tree.WriteDir(filepath.Join(dir, "mimic")); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(dir, "tokenizer.model")
	if code, _, errs := medflow(t, "models", "llama2-tokenizer", "--npm", npm, "--out", tok); code != 0 {
		t.Fatal(errs)
	}
	model := filepath.Join(dir, "llama.onnx")
	if _, err := llama.WriteTiny(model, 1); err != nil {
		t.Fatal(err)
	}
	conf := writeConfig(t, dir, strings.NewReplacer("TOK", tok, "MODEL", model).Replace(`
settings: {work: DIR/work, log: {level: warn}}
variants:
  text:
    stages:
      - {name: index, kind: mimic.index, params: {root: DIR/mimic}}
      - {name: studies, kind: mimic.index, params: {root: DIR/mimic, rows: studies, problems: false}}
      - {name: sections, kind: report.sections, inputs: [studies], params: {root: DIR/mimic}}
      - {name: tokens, kind: text.tokenize, inputs: [sections], params: {model: TOK, column: report_text}}
      - {name: embed, kind: text.embed, inputs: [tokens], materialize: true, params: {model: MODEL, dim: 64, key_column: study_id}}
      - {name: pairs, kind: join, inputs: [index, embed], materialize: true, params: {key: study_id, columns: [embedding]}}
`))
	if code, _, errs := medflow(t, "run", "text", "--config", conf, "--no-progress"); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, errs)
	}

	// What the fixture holds: kept (frontal) images per study, from its
	// metadata table.
	kept := map[int64]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(tree[mimictest.MetadataFile])), "\n")[1:] {
		f := strings.Split(line, ",")
		study, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if f[4] == "PA" || f[4] == "AP" {
			kept[study]++
		}
	}
	perStudy := map[int]int{}
	for _, n := range kept {
		perStudy[n]++
	}
	if perStudy[1] == 0 || perStudy[2] == 0 || perStudy[3] == 0 || kept[mimictest.Study(4)] != 2 {
		t.Fatalf("fixture lacks studies with 1, 2 and 3 kept images, or study 4 has not 2: %v", perStudy)
	}
	wantEmbedded, wantPairs := 0, 0
	for study, n := range kept {
		if study != mimictest.Study(4) {
			wantEmbedded++
			wantPairs += n
		}
	}

	store, rec := onlyRecord(t, filepath.Join(dir, "work"))
	rows := map[string]runrecord.Stage{}
	for _, s := range rec.Stages {
		rows[s.Name] = s
	}
	if got := rows["sections"].Quarantined; got != 1 {
		t.Errorf("sections quarantined %d reports, want 1 (the missing one)", got)
	}
	if got := rows["embed"].RowsOut; got != int64(wantEmbedded) {
		t.Errorf("embedded %d rows, want %d (studies with a report)", got, wantEmbedded)
	}
	if got := rows["pairs"].RowsOut; got != int64(wantPairs) {
		t.Errorf("pairs has %d rows, want %d (kept images of studies with a report)", got, wantPairs)
	}
	var ids []int64
	eachBatch(t, store, "cache/"+rows["embed"].Fingerprint, func(b arrow.RecordBatch) {
		ids = append(ids, b.Column(b.Schema().FieldIndices("study_id")[0]).(*array.Int64).Int64Values()...)
	})
	distinct := slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) != wantEmbedded || len(distinct) != len(ids) || slices.Contains(ids, mimictest.Study(4)) {
		t.Errorf("embed holds %d rows, %d distinct study_ids (study 4 among them: %v), want %d distinct without study 4",
			len(ids), len(distinct), slices.Contains(ids, mimictest.Study(4)), wantEmbedded)
	}
}
