package mimic_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/medflow/medflow/mimic"
	"github.com/medflow/medflow/mimic/mimictest"
)

func tables(t testing.TB, tree mimictest.Tree, labeler string) mimic.Tables {
	t.Helper()
	in := func(name string) mimic.Input {
		for _, k := range []string{name + ".gz", name} {
			if b, ok := tree[k]; ok {
				return mimic.Input{Name: k, R: bytes.NewReader(b)}
			}
		}
		t.Fatalf("no %s in tree", name)
		return mimic.Input{}
	}
	return mimic.Tables{Metadata: in(mimictest.MetadataFile), Split: in(mimictest.SplitFile), Labels: in(labeler)}
}

func build(t testing.TB, cfg mimictest.Config, opts mimic.Options) *mimic.Index {
	t.Helper()
	tree, err := mimictest.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := mimic.Build(tables(t, tree, mimictest.ChexpertFile), opts)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// expected counts the generated images that pass the view and split
// filters, straight from the generator's rules.
func expected(cfg mimictest.Config, views, splits []string) (images, studies int) {
	for i := range cfg.Studies {
		n := 1
		if i < cfg.Images-cfg.Studies {
			n = 2
		}
		any := false
		for j := range n {
			if (slices.Contains(views, "all") || slices.Contains(views, mimictest.View(i, j))) &&
				(len(splits) == 0 || slices.Contains(splits, mimictest.SplitOf(cfg.Seed, mimictest.Subject(i)))) {
				images++
				any = true
			}
		}
		if any {
			studies++
		}
	}
	return images, studies
}

func TestBuild(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    mimictest.Config
		views  []string
		splits []string
	}{
		{name: "frontal", cfg: mimictest.Config{Studies: 200, Images: 330, Seed: 1}},
		{name: "all views gz", cfg: mimictest.Config{Studies: 200, Images: 330, Seed: 2, Gzip: true}, views: []string{"all"}},
		{name: "lateral test split", cfg: mimictest.Config{Studies: 300, Images: 600, Seed: 3}, views: []string{"LATERAL", "LL"}, splits: []string{"test"}},
		{name: "one image per study", cfg: mimictest.Config{Studies: 50, Images: 50, Seed: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			views := tc.views
			if views == nil {
				views = mimic.DefaultViews
			}
			ix := build(t, tc.cfg, mimic.Options{Views: tc.views, Splits: tc.splits})
			wantImages, wantStudies := expected(tc.cfg, views, tc.splits)
			st := ix.Stats()
			if ix.Len() != wantImages || st.Studies != wantStudies || len(ix.Problems()) != 0 {
				t.Fatalf("%d images, %d studies, problems %v; want %d, %d, none", ix.Len(), st.Studies, ix.Problems(), wantImages, wantStudies)
			}
			if st.MetadataRows != tc.cfg.Images || st.SplitRows != tc.cfg.Images || st.LabelRows != tc.cfg.Studies {
				t.Errorf("stats %+v", st)
			}
			if st.Images+st.DroppedView+st.DroppedSplit != tc.cfg.Images {
				t.Errorf("stats don't add up: %+v", st)
			}
			var prev mimic.Entry
			for i := range ix.Len() {
				e := ix.Entry(i)
				if i > 0 && (e.SubjectID < prev.SubjectID || e.SubjectID == prev.SubjectID &&
					(e.StudyID < prev.StudyID || e.StudyID == prev.StudyID && e.DicomID <= prev.DicomID)) {
					t.Fatalf("entry %d out of order: %+v after %+v", i, e, prev)
				}
				if !slices.Contains(views, e.View) && !slices.Contains(views, "all") {
					t.Errorf("entry %d has view %s", i, e.View)
				}
				if !strings.HasPrefix(e.ImageKey(), strings.TrimSuffix(e.ReportKey(), ".txt")+"/") {
					t.Errorf("image key %s not under report key %s", e.ImageKey(), e.ReportKey())
				}
				prev = e
			}
		})
	}
}

func TestBuildFaults(t *testing.T) {
	for _, gz := range []bool{false, true} {
		cfg := mimictest.Config{Studies: 40, Images: 60, Seed: 5, Faults: true, Gzip: gz}
		ix := build(t, cfg, mimic.Options{})
		var keys []string
		for _, p := range ix.Problems() {
			keys = append(keys, p.Key)
			t.Logf("%s: %s", p.Key, p.Reason)
		}
		want := mimictest.FaultKeys(cfg)
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Errorf("gzip %v: problems\n%q\nwant\n%q", gz, keys, want)
		}
		clean := build(t, mimictest.Config{Studies: 40, Images: 60, Seed: 5}, mimic.Options{})
		if ix.Len() != clean.Len() {
			t.Errorf("faults changed the good rows: %d vs %d", ix.Len(), clean.Len())
		}
	}
}

// TestBuildProblems covers each problem reason with hand-written tables.
func TestBuildProblems(t *testing.T) {
	const (
		meta  = "dicom_id,subject_id,study_id,ViewPosition,Rows,Columns\n"
		split = "dicom_id,study_id,subject_id,split\n"
	)
	blank := strings.Repeat(",", 13)
	lab := func(subject, study string) string { return subject + "," + study + blank + ",\n" }
	labels := "subject_id,study_id," + strings.Join(mimic.LabelNames[:], ",") + "\n"
	for _, tc := range []struct {
		name              string
		meta, split, labs string
		images            int
		want              string // "key: reason" of the single problem
	}{
		{name: "duplicate dicom in metadata",
			meta: meta + "aa,10000032,50414267,PA,1,1\naa,10000032,50414267,PA,1,1\n", split: split + "aa,50414267,10000032,train\n",
			labs: labels + lab("10000032", "50414267"), images: 1, want: "m.csv:3: duplicate dicom_id aa"},
		{name: "study on two subjects",
			meta: meta + "aa,10000032,50414267,PA,1,1\nbb,10000033,50414267,PA,1,1\n", split: split + "aa,50414267,10000032,train\n",
			labs: labels + lab("10000032", "50414267"), images: 1, want: "m.csv:3: study 50414267 belongs to subject 10000032 on an earlier row, not 10000033"},
		{name: "duplicate dicom in split",
			meta: meta + "aa,10000032,50414267,PA,1,1\n", split: split + "aa,50414267,10000032,train\naa,50414267,10000032,test\n",
			labs: labels + lab("10000032", "50414267"), images: 1, want: "s.csv:3: duplicate dicom_id aa"},
		{name: "split for unknown dicom",
			meta: meta + "aa,10000032,50414267,PA,1,1\n", split: split + "aa,50414267,10000032,train\nbb,50414267,10000032,test\n",
			labs: labels + lab("10000032", "50414267"), images: 1, want: "s.csv:3: dicom_id bb is not in m.csv"},
		{name: "split ids disagree",
			meta: meta + "aa,10000032,50414267,LATERAL,1,1\n", split: split + "aa,50414268,10000032,train\n",
			labs: labels + lab("10000032", "50414267"), images: 0, want: "s.csv:2: dicom_id aa is subject 10000032 study 50414268 here but subject 10000032 study 50414267 in m.csv"},
		{name: "duplicate study in labels",
			meta: meta + "aa,10000032,50414267,PA,1,1\n", split: split + "aa,50414267,10000032,train\n",
			labs: labels + lab("10000032", "50414267") + lab("10000032", "50414267"), images: 1, want: "l.csv:3: duplicate study_id 50414267"},
		{name: "labels subject disagrees",
			meta: meta + "aa,10000032,50414267,LATERAL,1,1\n", split: split + "aa,50414267,10000032,train\n",
			labs: labels + lab("10000099", "50414267"), images: 0, want: "l.csv:2: study 50414267 is subject 10000099 here but subject 10000032 in m.csv"},
		{name: "no split",
			meta: meta + "aa,10000032,50414267,PA,1,1\n", split: split,
			labs: labels + lab("10000032", "50414267"), want: "files/p10/p10000032/s50414267/aa.jpg: dicom_id aa has no split in s.csv"},
		{name: "no labels",
			meta: meta + "aa,10000032,50414267,AP,1,1\n", split: split + "aa,50414267,10000032,validate\n",
			labs: labels, want: "files/p10/p10000032/s50414267/aa.jpg: study 50414267 has no labels in l.csv"},
		{name: "lateral-only image without split or labels is not a problem",
			meta: meta + "aa,10000032,50414267,LATERAL,1,1\nbb,10000032,50414268,PA,1,1\n", split: split + "bb,50414268,10000032,test\n",
			labs: labels + lab("10000032", "50414268"), images: 1},
		{name: "labels without images",
			meta: meta + "aa,10000032,50414267,PA,1,1\n", split: split + "aa,50414267,10000032,train\n",
			labs: labels + lab("10000032", "50414267") + lab("10000032", "50414269"), images: 1,
			want: "files/p10/p10000032/s50414269.txt: study 50414269 has labels but no image in m.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := mimic.Build(mimic.Tables{
				Metadata: mimic.Input{Name: "m.csv", R: strings.NewReader(tc.meta)},
				Split:    mimic.Input{Name: "s.csv", R: strings.NewReader(tc.split)},
				Labels:   mimic.Input{Name: "l.csv", R: strings.NewReader(tc.labs)},
			}, mimic.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ix.Problems() {
				got = append(got, p.Key+": "+p.Reason)
			}
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if ix.Len() != tc.images || !slices.Equal(got, want) {
				t.Errorf("%d images, problems %q; want %d, %q", ix.Len(), got, tc.images, want)
			}
		})
	}
}

func TestBuildFatal(t *testing.T) {
	good := mimictest.Config{Studies: 3, Images: 3}
	tree, _ := mimictest.Generate(good)
	tb := tables(t, tree, mimictest.ChexpertFile)
	tb.Split = mimic.Input{Name: "s.csv", R: strings.NewReader("dicom_id,study_id,split\n")}
	if _, err := mimic.Build(tb, mimic.Options{}); err == nil || !strings.Contains(err.Error(), `s.csv: bad CSV header: missing column(s) "subject_id"`) {
		t.Errorf("err = %v", err)
	}
}

func TestShards(t *testing.T) {
	cfg := mimictest.Config{Studies: 500, Images: 800, Seed: 9}
	ix := build(t, cfg, mimic.Options{Views: []string{"all"}})
	for _, n := range []int{1, 2, 3, 7} {
		seen := map[string]int{}
		studyShard := map[int64]int{}
		total := 0
		for i := range n {
			for e := range ix.Shard(i, n) {
				seen[e.DicomID]++
				if s, ok := studyShard[e.StudyID]; ok && s != i {
					t.Fatalf("n=%d: study %d in shards %d and %d", n, e.StudyID, s, i)
				}
				studyShard[e.StudyID] = i
				total++
			}
		}
		if total != ix.Len() || len(seen) != ix.Len() {
			t.Errorf("n=%d: shards hold %d rows (%d distinct) of %d", n, total, len(seen), ix.Len())
		}
	}
}

func TestLabelsFollowPolicy(t *testing.T) {
	cfg := mimictest.Config{Studies: 100, Images: 100, Seed: 11}
	for _, pol := range []mimic.Policy{mimic.UniformPolicy(mimic.Ones, mimic.Zeros), mimic.UniformPolicy(mimic.Ignore, mimic.Ignore)} {
		ix := build(t, cfg, mimic.Options{Views: []string{"all"}, Policy: pol})
		for i := range ix.Len() {
			e := ix.Entry(i)
			var idx int
			for k := range cfg.Studies {
				if mimictest.Study(k) == e.StudyID {
					idx = k
				}
			}
			cells := mimictest.Labels(cfg.Seed, idx)
			for k, c := range cells {
				raw, _ := mimic.ParseLabel(c)
				if e.Raw[k] != raw {
					t.Fatalf("study %d label %d: raw %v, file %q", e.StudyID, k, e.Raw[k], c)
				}
				v, m := pol.Apply(&e.Raw)
				if e.Labels != v || e.Mask != m {
					t.Fatalf("labels not under policy")
				}
			}
		}
	}
}
