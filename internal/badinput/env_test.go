package badinput_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/internal/badinput"
	cxr "github.com/medflow/medflow/mimic"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/stages"
	"github.com/medflow/medflow/synth"
	"github.com/medflow/medflow/tokenizer"
)

// Phantom dataset size: small images keep the suite fast.
const (
	studies = 30
	side    = 64
)

// Sink names of the front end.
const (
	imgSink = "images"
	tokSink = "tokens"
)

// img is one row of the clean metadata table.
type img struct {
	Dicom, Subject, Study, View string
	Key, Report                 string // image and report keys under the root
}

var (
	cleanOnce sync.Once
	cleanDir  string // the clean dataset, shared read-only by every case
	cleanImgs []img
	modelPath string // a small valid SentencePiece BPE tokenizer.model
	cleanErr  error
)

// clean writes the clean phantom dataset and the tokenizer model once per
// test binary, in a folder removed by TestMain.
func clean(t testing.TB) (string, []img, string) {
	t.Helper()
	cleanOnce.Do(func() { cleanDir, cleanImgs, modelPath, cleanErr = writeClean() })
	if cleanErr != nil {
		t.Fatal(cleanErr)
	}
	return cleanDir, cleanImgs, modelPath
}

func writeClean() (string, []img, string, error) {
	dir, err := os.MkdirTemp("", "medflow-badinput-")
	if err != nil {
		return "", nil, "", err
	}
	tmpDirs = append(tmpDirs, dir)
	root := filepath.Join(dir, "mimic")
	store, err := local.New(root)
	if err != nil {
		return "", nil, "", err
	}
	if _, err := synth.Write(context.Background(), store, synth.Options{Studies: studies, Seed: 9, Width: side, Height: side,
		PlainCSV: true, Quality: 90, Workers: 2}); err != nil {
		return "", nil, "", fmt.Errorf("synth: %w", err)
	}
	var imgs []img
	rows, err := readCSV(filepath.Join(root, cxr.MetadataTable))
	if err != nil {
		return "", nil, "", err
	}
	col := colIndex(rows[0])
	for _, r := range rows[1:] {
		m := img{Dicom: r[col["dicom_id"]], Subject: r[col["subject_id"]], Study: r[col["study_id"]], View: r[col["ViewPosition"]]}
		subj, _ := cxr.ParseSubjectID(m.Subject)
		study, _ := cxr.ParseStudyID(m.Study)
		m.Key, m.Report = cxr.ImageKey(subj, study, m.Dicom), cxr.ReportKey(subj, study)
		imgs = append(imgs, m)
	}
	model := filepath.Join(dir, "tokenizer.model")
	if err := os.WriteFile(model, tinyModel().Marshal(), 0o644); err != nil {
		return "", nil, "", err
	}
	return root, imgs, model, nil
}

var tmpDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tmpDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// tinyModel is a BPE tokenizer with byte fallback and a few merges: enough
// to tokenize any text, cheap to load.
func tinyModel() *tokenizer.ModelProto {
	mp := tokenizer.NewModelProto()
	mp.ModelType = tokenizer.ModelTypeBPE
	mp.NormalizerName = "identity"
	mp.RemoveExtraWhitespaces = false
	mp.ByteFallback = true
	mp.Pieces = []tokenizer.ProtoPiece{{Piece: "<unk>", Type: tokenizer.Unknown}, {Piece: "<s>", Type: tokenizer.Control},
		{Piece: "</s>", Type: tokenizer.Control}}
	for b := range 256 {
		mp.Pieces = append(mp.Pieces, tokenizer.ProtoPiece{Piece: fmt.Sprintf("<0x%02X>", b), Type: tokenizer.Byte})
	}
	for i, p := range []string{"▁", "e", "t", "a", "o", "n", "i", "s", "r", "l", "▁t", "he", "▁the", "in", "on", "▁a", "al", "ar"} {
		mp.Pieces = append(mp.Pieces, tokenizer.ProtoPiece{Piece: p, Score: -float32(i), Type: tokenizer.Normal})
	}
	return mp
}

func readCSV(path string) ([][]string, error) {
	var rows [][]string
	err := badinput.EditCSV(path, func(r [][]string) [][]string { rows = r; return r })
	return rows, err
}

func colIndex(header []string) map[string]int {
	m := map[string]int{}
	for i, h := range header {
		m[strings.TrimPrefix(h, "\ufeff")] = i
	}
	return m
}

// env is one case's copy of the dataset.
type env struct {
	t     testing.TB
	root  string
	model string
	imgs  []img
}

func newEnv(t testing.TB, sub string) *env {
	t.Helper()
	src, imgs, model := clean(t)
	root := filepath.Join(t.TempDir(), sub)
	if err := badinput.CopyTree(src, root); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, root: root, model: model, imgs: imgs}
}

func (e *env) path(key string) string { return filepath.Join(e.root, filepath.FromSlash(key)) }

func (e *env) read(key string) []byte {
	e.t.Helper()
	b, err := os.ReadFile(e.path(key))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) write(key string, b []byte) {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Dir(e.path(key)), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(e.path(key), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) remove(key string) {
	e.t.Helper()
	if err := os.Remove(e.path(key)); err != nil {
		e.t.Fatal(err)
	}
}

// editCSV rewrites a table's records.
func (e *env) editCSV(table string, f func(rows [][]string) [][]string) {
	e.t.Helper()
	if err := badinput.EditCSV(e.path(table), f); err != nil {
		e.t.Fatal(err)
	}
}

// editText rewrites a file's bytes.
func (e *env) editText(key string, f func(string) string) {
	e.write(key, []byte(f(string(e.read(key)))))
}

// frontal returns the i-th frontal (PA/AP) image (a study's first image).
func frontal(imgs []img, i int) img {
	for _, m := range imgs {
		if m.View == "PA" || m.View == "AP" {
			if i == 0 {
				return m
			}
			i--
		}
	}
	panic("not enough frontal images")
}

// withLateral returns the i-th study that has two images.
func withLateral(imgs []img, i int) []img {
	for k := 0; k+1 < len(imgs); k++ {
		if imgs[k].Study == imgs[k+1].Study {
			if i == 0 {
				return imgs[k : k+2]
			}
			i--
		}
	}
	panic("not enough two-image studies")
}

// single returns the i-th study with exactly one image.
func single(imgs []img, i int) img {
	for k, m := range imgs {
		if (k == 0 || imgs[k-1].Study != m.Study) && (k+1 == len(imgs) || imgs[k+1].Study != m.Study) {
			if i == 0 {
				return m
			}
			i--
		}
	}
	panic("not enough one-image studies")
}

// ofStudy returns the image keys of a study.
func ofStudy(imgs []img, study string) []string {
	var keys []string
	for _, m := range imgs {
		if m.Study == study {
			keys = append(keys, m.Key)
		}
	}
	return keys
}

// rowOf finds a metadata/split row by dicom id (column 0 in both tables).
func rowOf(rows [][]string, dicom string) int {
	for i, r := range rows {
		if len(r) > 0 && r[0] == dicom {
			return i
		}
	}
	panic("dicom " + dicom + " not in table")
}

// studyRow finds a label row by study id (column 1).
func studyRow(rows [][]string, study string) int {
	for i, r := range rows {
		if len(r) > 1 && r[1] == study {
			return i
		}
	}
	panic("study " + study + " not in labels")
}

func encodeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	im := image.NewGray(image.Rect(0, 0, w, h))
	for i := range im.Pix {
		im.Pix[i] = byte(i * 7)
	}
	if err := jpeg.Encode(&buf, im, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	im := image.NewGray(image.Rect(0, 0, w, h))
	for i := range im.Pix {
		im.Pix[i] = byte(i * 3)
	}
	if err := png.Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// frontEnd is the flagship front end over e, with per-stage param
// overrides (a nil value deletes the param).
func (e *env) frontEnd(over map[string]map[string]any) []pipeline.StageSpec {
	params := map[string]map[string]any{
		"index":    {"root": e.root, "views": []any{"all"}, "batch_rows": 5},
		"decode":   {"path_column": "image_key", "root": e.root, "size": 16, "rows_column": "rows", "columns_column": "columns", "batch_rows": 4},
		"sections": {"root": e.root},
		"tokenize": {"model": e.model, "column": "report_text"},
	}
	for st, kv := range over {
		for k, v := range kv {
			if v == nil {
				delete(params[st], k)
			} else {
				params[st][k] = v
			}
		}
	}
	return []pipeline.StageSpec{
		pt.Stage("index", "mimic.index", nil, params["index"]),
		pt.Stage("decode", "image.decode", []string{"index"}, params["decode"]),
		pt.Stage("sections", "report.sections", []string{"index"}, params["sections"]),
		pt.Stage("tokenize", "text.tokenize", []string{"sections"}, params["tokenize"]),
		pt.Stage(imgSink, "test.collect", []string{"decode"}, nil),
		pt.Stage(tokSink, "test.collect", []string{"tokenize"}, nil),
	}
}

// registry is every stage kind over local folders (and s3://, unused).
func registry(t testing.TB) *pipeline.Registry {
	t.Helper()
	reg, err := stages.NewRegistry(stages.Deps{Open: func(ctx context.Context, uri string) (objstore.Store, error) {
		return connectors.Open(ctx, uri, connectors.Options{})
	}})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// keys returns the sorted distinct strings of a collected column.
func keys(vals []any) []string {
	var out []string
	for _, v := range vals {
		out = append(out, fmt.Sprint(v))
	}
	slices.Sort(out)
	return out
}
