package mimic

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// RowError is a malformed CSV row. It names the file, the line (1-based,
// the line the record starts on) and, when one cell is at fault, its
// column. A RowError never stops a read: the reader goes on with the next
// row, and the caller is expected to quarantine the row (Key is a good
// quarantine key).
type RowError struct {
	File   string
	Line   int
	Column string // empty when the row as a whole is at fault
	Err    error
}

func (e *RowError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("%s:%d: column %q: %v", e.File, e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// Key is "file:line", the quarantine key of the row.
func (e *RowError) Key() string { return e.File + ":" + strconv.Itoa(e.Line) }

// Reason is the error without the file:line prefix.
func (e *RowError) Reason() string {
	if e.Column != "" {
		return fmt.Sprintf("column %q: %v", e.Column, e.Err)
	}
	return e.Err.Error()
}

// ErrHeader is wrapped when a table's header lacks a required column or
// is unreadable; it is fatal for the table.
var ErrHeader = errors.New("bad CSV header")

var gzipMagic = []byte{0x1f, 0x8b}
var bom = []byte{0xef, 0xbb, 0xbf}

// Decompress returns a reader of the plain bytes of r: gzip is detected by
// its magic number (not by the file name) and a leading UTF-8 byte order
// mark is dropped. Close releases the gzip reader, not r.
func Decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var closer io.Closer = io.NopCloser(nil)
	if head, _ := br.Peek(2); bytes.Equal(head, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		closer = zr
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	if head, _ := br.Peek(3); bytes.Equal(head, bom) {
		_, _ = br.Discard(3)
	}
	return struct {
		io.Reader
		io.Closer
	}{br, closer}, nil
}

// CSV reads a header-driven CSV table, plain or gzip, one record at a
// time. Columns are found by name, so their order does not matter.
type CSV struct {
	name   string
	rc     io.ReadCloser
	cr     *csv.Reader
	header []string
	cols   map[string]int
	line   int // the line the last record read started on (1: the header)
}

// OpenCSV reads the header of the table in r. name (usually the file name)
// is used in errors and row keys. Every column in required must be in the
// header.
func OpenCSV(name string, r io.Reader, required ...string) (*CSV, error) {
	rc, err := Decompress(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cr := csv.NewReader(rc)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	h, err := cr.Read()
	if err != nil {
		rc.Close()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: %w: empty file", name, ErrHeader)
		}
		return nil, fmt.Errorf("%s: %w: %v", name, ErrHeader, err)
	}
	t := &CSV{name: name, rc: rc, cr: cr, header: make([]string, len(h)), cols: make(map[string]int, len(h))}
	for i, c := range h {
		c = strings.TrimSpace(c)
		t.header[i] = c
		if _, dup := t.cols[c]; dup {
			rc.Close()
			return nil, fmt.Errorf("%s: %w: column %q appears twice", name, ErrHeader, c)
		}
		t.cols[c] = i
	}
	var missing []string
	for _, c := range required {
		if _, ok := t.cols[c]; !ok {
			missing = append(missing, strconv.Quote(c))
		}
	}
	if len(missing) > 0 {
		rc.Close()
		return nil, fmt.Errorf("%s: %w: missing column(s) %s (header: %s)", name, ErrHeader,
			strings.Join(missing, ", "), strings.Join(t.header, ","))
	}
	return t, nil
}

// Name is the table's name as given to OpenCSV.
func (t *CSV) Name() string { return t.name }

// Col returns the index of a column, or -1.
func (t *CSV) Col(name string) int {
	if i, ok := t.cols[name]; ok {
		return i
	}
	return -1
}

// Next returns the next record and the line it starts on. The slice is
// reused by the next call. It returns io.EOF at the end, a *RowError for a
// malformed row (wrong field count, bad quoting; read on after it), and
// any other error (I/O, corrupt gzip; naming the file and the last line
// read) when the table cannot be read further.
func (t *CSV) Next() ([]string, int, error) {
	rec, err := t.cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, pe.StartLine, &RowError{File: t.name, Line: pe.StartLine,
				Err: fmt.Errorf("malformed CSV at line %d byte %d: %v", pe.Line, pe.Column, pe.Err)}
		}
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		return nil, 0, fmt.Errorf("%s: after line %d: %w", t.name, max(t.line, 1), err)
	}
	line, _ := t.cr.FieldPos(0)
	t.line = line
	if len(rec) != len(t.header) {
		return nil, line, &RowError{File: t.name, Line: line,
			Err: fmt.Errorf("%d fields, header has %d", len(rec), len(t.header))}
	}
	return rec, line, nil
}

// Close releases the decompressor (not the underlying reader).
func (t *CSV) Close() error { return t.rc.Close() }

func (t *CSV) rowErr(line int, col string, err error) *RowError {
	return &RowError{File: t.name, Line: line, Column: col, Err: err}
}

// MetadataRow is one row of mimic-cxr-2.0.0-metadata.csv.
type MetadataRow struct {
	Line               int
	DicomID            string
	SubjectID, StudyID int64
	// ViewPosition may be empty: some images have none.
	ViewPosition  string
	Rows, Columns int32
	// Optional columns, empty when absent from the file.
	PerformedProcedureStepDescription string
	StudyDate, StudyTime              string
	ProcedureCodeMeaning              string
	ViewCodeMeaning                   string
	PatientOrientationCodeMeaning     string
}

// MetadataColumns are the columns a metadata table must have.
var MetadataColumns = []string{"dicom_id", "subject_id", "study_id", "ViewPosition", "Rows", "Columns"}

// MetadataReader reads mimic-cxr-2.0.0-metadata.csv(.gz).
type MetadataReader struct {
	*CSV
	dicom, subject, study, view, rows, cols  int
	desc, date, time, proc, viewCode, orient int
}

// NewMetadataReader reads the header of a metadata table.
func NewMetadataReader(name string, r io.Reader) (*MetadataReader, error) {
	t, err := OpenCSV(name, r, MetadataColumns...)
	if err != nil {
		return nil, err
	}
	return &MetadataReader{CSV: t, dicom: t.Col("dicom_id"), subject: t.Col("subject_id"), study: t.Col("study_id"),
		view: t.Col("ViewPosition"), rows: t.Col("Rows"), cols: t.Col("Columns"),
		desc: t.Col("PerformedProcedureStepDescription"), date: t.Col("StudyDate"), time: t.Col("StudyTime"),
		proc: t.Col("ProcedureCodeSequence_CodeMeaning"), viewCode: t.Col("ViewCodeSequence_CodeMeaning"),
		orient: t.Col("PatientOrientationCodeSequence_CodeMeaning")}, nil
}

func cell(rec []string, i int) string {
	if i < 0 {
		return ""
	}
	return rec[i]
}

func parseDim(s string) (int32, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil {
		f, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if ferr != nil || f != float64(int32(f)) {
			return 0, fmt.Errorf("want a pixel count, got %q", s)
		}
		n = int64(f)
	}
	if n <= 0 || n > 1<<16 {
		return 0, fmt.Errorf("pixel count %d out of range 1..65536", n)
	}
	return int32(n), nil
}

// Next returns the next row (see CSV.Next for the errors). The strings of
// a row share one allocation with the whole line: strings.Clone what you
// keep if memory matters.
func (m *MetadataReader) Next() (MetadataRow, error) {
	rec, line, err := m.CSV.Next()
	if err != nil {
		return MetadataRow{Line: line}, err
	}
	row := MetadataRow{Line: line, DicomID: rec[m.dicom], ViewPosition: strings.TrimSpace(rec[m.view]),
		PerformedProcedureStepDescription: cell(rec, m.desc), StudyDate: cell(rec, m.date), StudyTime: cell(rec, m.time),
		ProcedureCodeMeaning: cell(rec, m.proc), ViewCodeMeaning: cell(rec, m.viewCode),
		PatientOrientationCodeMeaning: cell(rec, m.orient)}
	if err := ValidDicomID(row.DicomID); err != nil {
		return row, m.rowErr(line, "dicom_id", err)
	}
	if row.SubjectID, err = ParseSubjectID(rec[m.subject]); err != nil {
		return row, m.rowErr(line, "subject_id", err)
	}
	if row.StudyID, err = ParseStudyID(rec[m.study]); err != nil {
		return row, m.rowErr(line, "study_id", err)
	}
	if row.Rows, err = parseDim(rec[m.rows]); err != nil {
		return row, m.rowErr(line, "Rows", err)
	}
	if row.Columns, err = parseDim(rec[m.cols]); err != nil {
		return row, m.rowErr(line, "Columns", err)
	}
	return row, nil
}

// Split names.
const (
	Train    = "train"
	Validate = "validate"
	Test     = "test"
)

// Splits are the split names in order.
var Splits = []string{Train, Validate, Test}

// SplitRow is one row of mimic-cxr-2.0.0-split.csv.
type SplitRow struct {
	Line               int
	DicomID            string
	SubjectID, StudyID int64
	Split              string // train, validate or test
}

// SplitColumns are the columns a split table must have.
var SplitColumns = []string{"dicom_id", "study_id", "subject_id", "split"}

// SplitReader reads mimic-cxr-2.0.0-split.csv(.gz).
type SplitReader struct {
	*CSV
	dicom, subject, study, split int
}

// NewSplitReader reads the header of a split table.
func NewSplitReader(name string, r io.Reader) (*SplitReader, error) {
	t, err := OpenCSV(name, r, SplitColumns...)
	if err != nil {
		return nil, err
	}
	return &SplitReader{CSV: t, dicom: t.Col("dicom_id"), subject: t.Col("subject_id"), study: t.Col("study_id"),
		split: t.Col("split")}, nil
}

// Next returns the next row (see CSV.Next for the errors).
func (s *SplitReader) Next() (SplitRow, error) {
	rec, line, err := s.CSV.Next()
	if err != nil {
		return SplitRow{Line: line}, err
	}
	row := SplitRow{Line: line, DicomID: rec[s.dicom]}
	if err := ValidDicomID(row.DicomID); err != nil {
		return row, s.rowErr(line, "dicom_id", err)
	}
	if row.SubjectID, err = ParseSubjectID(rec[s.subject]); err != nil {
		return row, s.rowErr(line, "subject_id", err)
	}
	if row.StudyID, err = ParseStudyID(rec[s.study]); err != nil {
		return row, s.rowErr(line, "study_id", err)
	}
	switch v := strings.TrimSpace(rec[s.split]); v {
	case Train, Validate, Test:
		row.Split = v
	default:
		return row, s.rowErr(line, "split", fmt.Errorf("unknown split %q (want train, validate or test)", v))
	}
	return row, nil
}

// LabelRow is one row of mimic-cxr-2.0.0-chexpert.csv or -negbio.csv.
type LabelRow struct {
	Line               int
	SubjectID, StudyID int64
	Labels             [NumLabels]Label // in LabelNames order
}

// LabelColumns are the columns a label table must have.
var LabelColumns = append([]string{"subject_id", "study_id"}, LabelNames[:]...)

// LabelReader reads the CheXpert or NegBio label table.
type LabelReader struct {
	*CSV
	subject, study int
	labels         [NumLabels]int
}

// NewLabelReader reads the header of a label table.
func NewLabelReader(name string, r io.Reader) (*LabelReader, error) {
	t, err := OpenCSV(name, r, LabelColumns...)
	if err != nil {
		return nil, err
	}
	l := &LabelReader{CSV: t, subject: t.Col("subject_id"), study: t.Col("study_id")}
	for i, n := range LabelNames {
		l.labels[i] = t.Col(n)
	}
	return l, nil
}

// Next returns the next row (see CSV.Next for the errors).
func (l *LabelReader) Next() (LabelRow, error) {
	rec, line, err := l.CSV.Next()
	if err != nil {
		return LabelRow{Line: line}, err
	}
	row := LabelRow{Line: line}
	if row.SubjectID, err = ParseSubjectID(rec[l.subject]); err != nil {
		return row, l.rowErr(line, "subject_id", err)
	}
	if row.StudyID, err = ParseStudyID(rec[l.study]); err != nil {
		return row, l.rowErr(line, "study_id", err)
	}
	for i, c := range l.labels {
		if row.Labels[i], err = ParseLabel(strings.TrimSpace(rec[c])); err != nil {
			return row, l.rowErr(line, LabelNames[i], err)
		}
	}
	return row, nil
}
