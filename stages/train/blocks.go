package train

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/train"
)

// blockFile is a trainer-owned local Arrow IPC file holding one split's
// rows, only the columns the kind reads (train.Data.Columns: image as
// delivered, uint8 or float32; embedding; labels and mask; features),
// blockRows rows per record batch: train.Blocks with random access, so
// each epoch reads the split from disk. The file is unlinked as soon as
// it is created (it is written and read through the open descriptor), so
// the kernel frees it when the process ends, even by kill -9: a killed
// trainer leaves no gigabytes behind in the spill dir. Where unlinking an
// open file fails, close removes it.
type blockFile struct {
	path     string
	unlinked bool
	f        *os.File
	r        *ipc.FileReader
	n        int
	proto    *train.Data // dims and LUT; its column slices are empty, not nil
}

func (bf *blockFile) Len() int { return bf.n }

func (bf *blockFile) NumBlocks() int {
	if bf.r == nil {
		return 0
	}
	return bf.r.NumRecords()
}

// Block reads record batch i into a Data (copied: the record is
// released).
func (bf *blockFile) Block(i int) (*train.Data, error) {
	if bf.r == nil {
		return nil, fmt.Errorf("%w: block %d of an empty split", train.ErrData, i)
	}
	rec, err := bf.r.RecordBatchAt(i)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bf.path, err)
	}
	defer rec.Release()
	d := bf.proto.Like(int(rec.NumRows()))
	for k, c := range d.Columns() {
		l := rec.Column(k).(*array.FixedSizeList)
		lo, hi := l.Offset()*c.Width, (l.Offset()+l.Len())*c.Width
		if c.U8 != nil {
			*c.U8 = append(*c.U8, l.ListValues().(*array.Uint8).Uint8Values()[lo:hi]...)
		} else {
			*c.F32 = append(*c.F32, l.ListValues().(*array.Float32).Float32Values()[lo:hi]...)
		}
	}
	return d, nil
}

// close closes and removes the file; safe on nil and twice.
func (bf *blockFile) close() error {
	if bf == nil || bf.f == nil {
		return nil
	}
	var err error
	if bf.r != nil {
		err = bf.r.Close()
	}
	err = errors.Join(err, bf.f.Close())
	if !bf.unlinked {
		err = errors.Join(err, os.Remove(bf.path))
	}
	bf.f, bf.r = nil, nil
	return err
}

func closeBlocks(files []*blockFile) error {
	var err error
	for _, f := range files {
		err = errors.Join(err, f.close())
	}
	return err
}

// blockWriter fills one blockFile.
type blockWriter struct {
	bf    *blockFile
	w     *ipc.FileWriter
	cur   *train.Data
	rows  int
	alloc memory.Allocator
}

func (bw *blockWriter) flush() error {
	if bw.cur.Len() == 0 {
		return nil
	}
	rec, err := dataRecord(bw.cur)
	if err != nil {
		return err
	}
	defer rec.Release()
	if bw.w == nil {
		if bw.w, err = ipc.NewFileWriter(bw.bf.f, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(bw.alloc)); err != nil {
			return err
		}
		bw.bf.proto = bw.cur.Like(0)
	}
	if err := bw.w.Write(rec); err != nil {
		return fmt.Errorf("write %s: %w", bw.bf.path, err)
	}
	bw.bf.n += bw.cur.Len()
	bw.cur = bw.cur.Like(bw.rows)
	return nil
}

// dataRecord is d's columns as fixed_size_list columns (sharing d's
// memory: write it before d changes).
func dataRecord(d *train.Data) (arrow.RecordBatch, error) {
	n := d.Len()
	var fields []arrow.Field
	var cols []arrow.Array
	for _, c := range d.Columns() {
		elem, buf := arrow.DataType(arrow.PrimitiveTypes.Float32), (*memory.Buffer)(nil)
		if c.U8 != nil {
			elem, buf = arrow.PrimitiveTypes.Uint8, memory.NewBufferBytes(*c.U8)
		} else {
			buf = memory.NewBufferBytes(arrow.Float32Traits.CastToBytes(*c.F32))
		}
		t := arrow.FixedSizeListOfNonNullable(int32(c.Width), elem)
		vals := array.NewData(elem, n*c.Width, []*memory.Buffer{nil, buf}, nil, 0, 0)
		ld := array.NewData(t, n, []*memory.Buffer{nil}, []arrow.ArrayData{vals}, 0, 0)
		vals.Release()
		fields = append(fields, arrow.Field{Name: c.Name, Type: t})
		cols = append(cols, array.MakeFromData(ld))
		ld.Release()
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// writeBlocks writes, in one pass over ds, the rows whose split is in
// each of groups into one blockFile per group in dir (a row joins every
// group naming its split); add appends row i of b to a group's current
// block. On error every file is removed. After the pass ds is discarded
// (pipeline.Discard): the caller does not read it again.
func writeBlocks(ctx context.Context, ds pipeline.Dataset, dir string, blockRows int, alloc memory.Allocator, proto *train.Data,
	splitCol int, groups [][]string, add func(d *train.Data, b arrow.RecordBatch, i int) error) (files []*blockFile, err error) {
	ws := make([]*blockWriter, len(groups))
	defer func() {
		for _, w := range ws {
			if w != nil && w.w != nil {
				err = errors.Join(err, w.w.Close())
			}
		}
		if err != nil {
			err = errors.Join(err, closeBlocks(files))
			files = nil
		}
	}()
	for g := range groups {
		f, err := os.CreateTemp(dir, "medflow-train-*.arrow")
		if err != nil {
			return files, fmt.Errorf("block file: %w", err)
		}
		files = append(files, &blockFile{path: f.Name(), unlinked: os.Remove(f.Name()) == nil, f: f, proto: proto})
		cur := *proto
		ws[g] = &blockWriter{bf: files[g], cur: &cur, rows: blockRows, alloc: alloc}
	}
	err = eachRow(ctx, ds, splitCol, groups, func(g int, b arrow.RecordBatch, i int) error {
		w := ws[g]
		if err := add(w.cur, b, i); err != nil {
			return err
		}
		if w.cur.Len() == blockRows {
			return w.flush()
		}
		return nil
	})
	if err != nil {
		return files, err
	}
	// Everything needed is in the block files now: the barrier input's
	// memory (up to --spill-mib) is not held through training.
	pipeline.Discard(ds)
	for g, w := range ws {
		if err := w.flush(); err != nil {
			return files, err
		}
		if w.w != nil {
			err := w.w.Close()
			w.w = nil
			if err != nil {
				return files, fmt.Errorf("write %s: %w", w.bf.path, err)
			}
			if files[g].r, err = ipc.NewFileReader(files[g].f, ipc.WithAllocator(alloc)); err != nil {
				return files, fmt.Errorf("read %s: %w", w.bf.path, err)
			}
		}
	}
	return files, nil
}
