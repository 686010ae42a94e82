// Package k8s holds medflow's Kubernetes manifests; this test checks that
// they parse and agree with each other and with the CLI.
package k8s

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/medflow/medflow/config"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/stages"
)

func load(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// get walks a path of map keys and list indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("no key %q in %v", k, v)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("no index %d in %v", k, v)
			}
			v = l[k]
		}
	}
	return v
}

func args(t *testing.T, pod any) string {
	var s []string
	for _, a := range get(t, pod, "containers", 0, "args").([]any) {
		s = append(s, a.(string))
	}
	return strings.Join(s, " ")
}

func TestIndexedJobShards(t *testing.T) {
	job := load(t, "indexed-job.yaml")
	spec := get(t, job, "spec")
	if get(t, spec, "completionMode") != "Indexed" {
		t.Fatal("not an Indexed Job")
	}
	n := get(t, spec, "completions").(int)
	if p := get(t, spec, "parallelism").(int); p != n {
		t.Errorf("parallelism %d != completions %d", p, n)
	}
	a := args(t, get(t, spec, "template", "spec"))
	m := regexp.MustCompile(`--shard \$\(JOB_COMPLETION_INDEX\)/(\d+)`).FindStringSubmatch(a)
	if m == nil || m[1] != strconv.Itoa(n) {
		t.Fatalf("args %q: want --shard $(JOB_COMPLETION_INDEX)/%d", a, n)
	}
	merge := args(t, get(t, load(t, "merge-job.yaml"), "spec", "template", "spec"))
	if !strings.Contains(merge, "merge mimic-ingest") || !strings.Contains(merge, "--shards "+strconv.Itoa(n)) {
		t.Errorf("merge job %q does not merge the %d shards of mimic-ingest", merge, n)
	}
}

func TestSecretsAndGPU(t *testing.T) {
	secret := load(t, "secret.yaml")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if get(t, secret, "stringData", k) == nil {
			t.Errorf("secret lacks %s", k)
		}
	}
	for _, f := range []string{"indexed-job.yaml", "merge-job.yaml", "gpu-job.yaml"} {
		pod := get(t, load(t, f), "spec", "template", "spec")
		if get(t, pod, "containers", 0, "envFrom", 0, "secretRef", "name") != "medflow-s3" {
			t.Errorf("%s does not take the S3 secret", f)
		}
	}
	cron := get(t, load(t, "cronjob.yaml"), "spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "envFrom", 0, "secretRef", "name")
	if cron != "medflow-s3" {
		t.Error("cronjob does not take the S3 secret")
	}
	gpu := get(t, load(t, "gpu-job.yaml"), "spec", "template", "spec")
	if get(t, gpu, "nodeSelector", "nvidia.com/gpu.present") != "true" || get(t, gpu, "containers", 0, "resources", "limits", "nvidia.com/gpu") != 1 {
		t.Error("gpu job is not pinned to a GPU node with one GPU")
	}
}

// The pipelines file in the ConfigMap is a valid medflow config whose
// variant plans.
func TestConfigMapPlans(t *testing.T) {
	src := get(t, load(t, "configmap.yaml"), "data", "pipelines.yaml").(string)
	f, err := config.Parse("configmap.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := f.Variant("mimic-ingest", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := stages.NewRegistry(stages.Deps{Open: func(ctx context.Context, uri string) (objstore.Store, error) {
		return nil, errors.New("no I/O at plan time")
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Plan(spec, pipeline.PlanOptions{}); err != nil {
		t.Fatal(err)
	}
}
