package k8s

import (
	"os"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// render builds the kustomization as `kubectl apply -k` does (kubectl
// embeds the same sigs.k8s.io/kustomize/api) and decodes every rendered
// object strictly.
func render(t *testing.T) []any {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), ".")
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	out, err := rm.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	var objs []any
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		if meta.APIVersion == "v1" && meta.Kind == "ConfigMap" {
			var cm corev1.ConfigMap
			if err := yaml.UnmarshalStrict([]byte(doc), &cm); err != nil {
				t.Fatalf("rendered ConfigMap: %v", err)
			}
			objs = append(objs, &cm)
			continue
		}
		obj, err := decode([]byte(doc))
		if err != nil {
			t.Fatalf("rendered object: %v\n%s", err, doc)
		}
		objs = append(objs, obj)
	}
	return objs
}

// What `kubectl apply -k deploy/k8s` applies: everything in the namespace,
// the images resolved to the pinned registry references, the pods mounting
// the generated (hash-named) ConfigMap, which carries pipelines.yaml as is.
func TestKustomizeBuild(t *testing.T) {
	o := loadAll(t)
	objs := render(t)
	want := map[string]string{}
	for _, im := range o.kust.Images {
		ref := im.NewName
		if im.NewTag != "" {
			ref += ":" + im.NewTag
		}
		if im.Digest != "" {
			ref += "@" + im.Digest
		}
		want[ref] = im.Name
	}
	_, src := pipelinesFile(t, o.kust)
	var cmName string
	var pods []corev1.PodSpec
	var jobs, cronJobs int
	for _, obj := range objs {
		switch v := obj.(type) {
		case *corev1.Namespace:
			if v.Name != o.kust.Namespace {
				t.Errorf("rendered Namespace %q", v.Name)
			}
			continue
		case *corev1.ConfigMap:
			if !strings.HasPrefix(v.Name, configMap+"-") || v.Namespace != o.kust.Namespace {
				t.Errorf("rendered ConfigMap %s/%s: want %s-<hash> in %s", v.Namespace, v.Name, configMap, o.kust.Namespace)
			}
			if v.Data["pipelines.yaml"] != string(src) {
				t.Error("rendered ConfigMap does not carry pipelines.yaml as is")
			}
			cmName = v.Name
		case *batchv1.Job:
			jobs++
			pods = append(pods, v.Spec.Template.Spec)
			if v.Namespace != o.kust.Namespace {
				t.Errorf("Job %s in namespace %q", v.Name, v.Namespace)
			}
			if v.Labels["app.kubernetes.io/name"] != "medflow" {
				t.Errorf("Job %s lacks the common labels", v.Name)
			}
		case *batchv1.CronJob:
			cronJobs++
			pods = append(pods, v.Spec.JobTemplate.Spec.Template.Spec)
			if v.Namespace != o.kust.Namespace {
				t.Errorf("CronJob %s in namespace %q", v.Name, v.Namespace)
			}
		default:
			t.Errorf("rendered an unexpected %T", v)
		}
	}
	if jobs != len(o.jobs) || cronJobs != len(o.cronJobs) {
		t.Errorf("rendered %d Jobs and %d CronJobs, the folder has %d and %d", jobs, cronJobs, len(o.jobs), len(o.cronJobs))
	}
	if cmName == "" {
		t.Fatal("no ConfigMap rendered")
	}
	for _, pod := range pods {
		for _, c := range pod.Containers {
			if _, ok := want[c.Image]; !ok {
				t.Errorf("container image %q is not one of the pinned references %v", c.Image, want)
			}
		}
		var mounted bool
		for _, v := range pod.Volumes {
			if v.ConfigMap != nil {
				mounted = mounted || v.ConfigMap.Name == cmName
				if v.ConfigMap.Name != cmName {
					t.Errorf("volume %q mounts ConfigMap %q, the generated one is %q", v.Name, v.ConfigMap.Name, cmName)
				}
			}
		}
		if !mounted {
			t.Errorf("a pod does not mount the generated ConfigMap %s", cmName)
		}
	}
	if _, err := os.Stat("secret.example.yaml"); err == nil {
		for _, obj := range objs {
			if _, ok := obj.(*corev1.Secret); ok {
				t.Error("the kustomization renders a Secret")
			}
		}
	}
}
