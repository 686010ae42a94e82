// Package k8s holds medflow's Kubernetes manifests. Its test decodes every
// manifest strictly into the typed Kubernetes API objects (k8s.io/api), so
// a misspelt or misplaced field, or a value of the wrong type, fails; checks
// the rules the manifests promise (restricted Pod Security level, requests
// and limits, deadlines and TTLs, per-index retries, the GPU runtime, the
// image pinned through kustomization.yaml, no credentials); and plans every
// variant a Job runs with medflow itself, from the pipelines file the
// kustomization turns into the ConfigMap.
//
// The Kubernetes modules are test dependencies only: the medflow binary
// does not link them (TestBinaryDoesNotLinkKubernetes).
package k8s

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/medflow/medflow/config"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/stages"
)

const (
	configPath   = "/etc/medflow/pipelines.yaml"
	configMap    = "medflow-pipelines"
	s3Secret     = "medflow-s3"
	secretSample = "secret.example.yaml"
)

// kustomization is the part of kustomize's Kustomization this folder uses.
// It is decoded strictly: a field not listed here fails the test, so a new
// kustomize feature is added here on purpose.
type kustomization struct {
	APIVersion         string   `json:"apiVersion"`
	Kind               string   `json:"kind"`
	Namespace          string   `json:"namespace"`
	Resources          []string `json:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `json:"name"`
		Files []string `json:"files"`
	} `json:"configMapGenerator"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
		Digest  string `json:"digest"`
	} `json:"images"`
	Labels []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
}

// objects are the decoded manifests of this folder.
type objects struct {
	kust       kustomization
	jobs       map[string]*batchv1.Job // by file
	cronJobs   map[string]*batchv1.CronJob
	namespaces map[string]*corev1.Namespace
	secrets    map[string]*corev1.Secret
}

// decode decodes one manifest strictly into the typed object its kind
// names.
func decode(data []byte) (any, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		return nil, err
	}
	var obj any
	switch meta.APIVersion + " " + meta.Kind {
	case "batch/v1 Job":
		obj = &batchv1.Job{}
	case "batch/v1 CronJob":
		obj = &batchv1.CronJob{}
	case "v1 Namespace":
		obj = &corev1.Namespace{}
	case "v1 Secret":
		obj = &corev1.Secret{}
	default:
		return nil, fmt.Errorf("unexpected apiVersion/kind %q %q", meta.APIVersion, meta.Kind)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func loadAll(t *testing.T) *objects {
	t.Helper()
	o := &objects{jobs: map[string]*batchv1.Job{}, cronJobs: map[string]*batchv1.CronJob{},
		namespaces: map[string]*corev1.Namespace{}, secrets: map[string]*corev1.Secret{}}
	b, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, &o.kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f == "kustomization.yaml" || slices.ContainsFunc(o.kust.ConfigMapGenerator, func(g struct {
			Name  string   `json:"name"`
			Files []string `json:"files"`
		}) bool {
			return slices.Contains(g.Files, f)
		}) {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("\n---")) {
			t.Errorf("%s: one object per file, please", f)
		}
		obj, err := decode(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		switch v := obj.(type) {
		case *batchv1.Job:
			o.jobs[f] = v
		case *batchv1.CronJob:
			o.cronJobs[f] = v
		case *corev1.Namespace:
			o.namespaces[f] = v
		case *corev1.Secret:
			o.secrets[f] = v
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return o
}

// pods lists every pod template with the Job spec that owns it, named by
// file (CronJobs by file + " jobTemplate").
func (o *objects) pods() map[string]*batchv1.JobSpec {
	m := map[string]*batchv1.JobSpec{}
	for f, j := range o.jobs {
		m[f] = &j.Spec
	}
	for f, c := range o.cronJobs {
		m[f+" jobTemplate"] = &c.Spec.JobTemplate.Spec
	}
	return m
}

// The strict decoder is really strict: an unknown field and a wrong type
// are errors (so a passing TestManifestsDecode means something).
func TestDecodeIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field": "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containerz: []\n",
		"misplaced":     "apiVersion: batch/v1\nkind: Job\nspec:\n  runtimeClassName: nvidia\n",
		"wrong type":    "apiVersion: batch/v1\nkind: Job\nspec:\n  completions: \"8\"\n",
		"duplicate":     "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nmetadata: {name: b}\n",
		"bad quantity":  "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers: [{name: a, resources: {limits: {memory: 8GB!}}}]\n",
	} {
		if _, err := decode([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	if _, err := decode([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  completions: 8\n")); err != nil {
		t.Errorf("a valid Job: %v", err)
	}
}

// Every manifest decodes strictly, and kustomization.yaml lists all of
// them but the Secret example.
func TestManifestsDecode(t *testing.T) {
	o := loadAll(t)
	if o.kust.APIVersion != "kustomize.config.k8s.io/v1beta1" || o.kust.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: apiVersion/kind %q %q", o.kust.APIVersion, o.kust.Kind)
	}
	var want []string
	for f := range o.jobs {
		want = append(want, f)
	}
	for f := range o.cronJobs {
		want = append(want, f)
	}
	for f := range o.namespaces {
		want = append(want, f)
	}
	got := slices.Clone(o.kust.Resources)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources %v, want every manifest but the Secret example: %v", got, want)
	}
	if len(o.jobs) < 3 || len(o.cronJobs) < 1 {
		t.Errorf("found %d Jobs and %d CronJobs; expected the indexed, merge and GPU Jobs and the nightly CronJob", len(o.jobs), len(o.cronJobs))
	}
}

// The namespace enforces the restricted Pod Security Standard and is the
// one kustomize puts everything in.
func TestNamespace(t *testing.T) {
	o := loadAll(t)
	if o.kust.Namespace == "" {
		t.Fatal("kustomization.yaml sets no namespace")
	}
	var found bool
	for f, ns := range o.namespaces {
		if ns.Name != o.kust.Namespace {
			t.Errorf("%s: namespace %q, kustomization namespace %q", f, ns.Name, o.kust.Namespace)
		}
		found = true
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("%s: does not enforce the restricted Pod Security Standard", f)
		}
		if v := ns.Labels["pod-security.kubernetes.io/enforce-version"]; !regexp.MustCompile(`^v1\.\d+$`).MatchString(v) {
			t.Errorf("%s: enforce-version %q, want a pinned v1.N", f, v)
		}
	}
	if !found {
		t.Error("no Namespace manifest")
	}
}

// restrictedVolumes are the volume types the restricted Pod Security
// Standard allows.
func restrictedVolume(v corev1.Volume) bool {
	s := v.VolumeSource
	return s.ConfigMap != nil || s.CSI != nil || s.DownwardAPI != nil || s.EmptyDir != nil ||
		s.Ephemeral != nil || s.PersistentVolumeClaim != nil || s.Projected != nil || s.Secret != nil
}

// Every pod meets the restricted Pod Security Standard (the parts that
// can be checked without a cluster), mounts writable emptyDirs for its
// read-only root filesystem, has requests and limits, takes the S3 secret
// and the pipelines ConfigMap, and names an image kustomization.yaml pins.
func TestPodsRestrictedAndSized(t *testing.T) {
	o := loadAll(t)
	images := map[string]string{}
	for _, im := range o.kust.Images {
		images[im.Name] = im.NewName
		if im.NewName == "" {
			t.Errorf("kustomization image %q: no newName (registry/repository)", im.Name)
		}
		pinned := regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(im.Digest) ||
			(im.Digest == "" && regexp.MustCompile(`^v?\d+\.\d+\.\d+`).MatchString(im.NewTag))
		if !pinned || im.NewTag == "latest" {
			t.Errorf("kustomization image %q: tag %q digest %q; want a version tag (N.N.N...) or a sha256 digest", im.Name, im.NewTag, im.Digest)
		}
	}
	generated := map[string]bool{}
	for _, g := range o.kust.ConfigMapGenerator {
		generated[g.Name] = true
	}
	for name, job := range o.pods() {
		pod := job.Template.Spec
		t.Run(name, func(t *testing.T) {
			if pod.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %q, want Never (podFailurePolicy needs it)", pod.RestartPolicy)
			}
			if pod.HostNetwork || pod.HostPID || pod.HostIPC {
				t.Error("uses a host namespace")
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("automountServiceAccountToken is not false (medflow never talks to the API server)")
			}
			sc := pod.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
				t.Error("pod securityContext.runAsNonRoot is not true")
			}
			if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
				t.Error("pod securityContext.runAsUser is unset or 0")
			}
			if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Error("pod securityContext.seccompProfile is not RuntimeDefault")
			}
			vols := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				vols[v.Name] = v
				if !restrictedVolume(v) {
					t.Errorf("volume %q: a type the restricted level forbids", v.Name)
				}
			}
			all := append(slices.Clone(pod.InitContainers), pod.Containers...)
			if len(pod.Containers) == 0 {
				t.Fatal("no containers")
			}
			for _, c := range all {
				csc := c.SecurityContext
				if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
					t.Errorf("container %q: allowPrivilegeEscalation is not false", c.Name)
				}
				if csc == nil || csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") || len(csc.Capabilities.Add) > 0 {
					t.Errorf("container %q: capabilities do not drop ALL (or add some)", c.Name)
				}
				if csc != nil && csc.Privileged != nil && *csc.Privileged {
					t.Errorf("container %q: privileged", c.Name)
				}
				if csc != nil && csc.RunAsUser != nil && *csc.RunAsUser == 0 {
					t.Errorf("container %q: runAsUser 0", c.Name)
				}
				if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
					t.Errorf("container %q: readOnlyRootFilesystem is not true", c.Name)
				}
				for _, p := range c.Ports {
					if p.HostPort != 0 {
						t.Errorf("container %q: hostPort", c.Name)
					}
				}
				// Requests and limits.
				for _, kind := range []struct {
					what string
					list corev1.ResourceList
				}{{"requests", c.Resources.Requests}, {"limits", c.Resources.Limits}} {
					for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
						q, ok := kind.list[r]
						if !ok || q.Sign() <= 0 {
							t.Errorf("container %q: no %s.%s", c.Name, kind.what, r)
						}
					}
				}
				for r, req := range c.Resources.Requests {
					if lim, ok := c.Resources.Limits[r]; ok && req.Cmp(lim) > 0 {
						t.Errorf("container %q: request %s %s above its limit %s", c.Name, r, req.String(), lim.String())
					}
				}
				// Writable emptyDirs where the read-only root needs them.
				mounts := map[string]string{}
				for _, m := range c.VolumeMounts {
					mounts[m.MountPath] = m.Name
				}
				for _, p := range []string{"/tmp", "/work"} {
					v, ok := vols[mounts[p]]
					if !ok || v.EmptyDir == nil {
						t.Errorf("container %q: %s is not an emptyDir volume (the root filesystem is read-only)", c.Name, p)
					} else if v.EmptyDir.SizeLimit == nil {
						t.Errorf("container %q: emptyDir %q has no sizeLimit", c.Name, v.Name)
					}
				}
				// The pipelines ConfigMap at /etc/medflow, and --config pointing there.
				v, ok := vols[mounts[filepath.Dir(configPath)]]
				if !ok || v.ConfigMap == nil || v.ConfigMap.Name != configMap || !generated[configMap] {
					t.Errorf("container %q: %s is not the ConfigMap %s that kustomization.yaml generates", c.Name, filepath.Dir(configPath), configMap)
				}
				if !strings.Contains(strings.Join(c.Args, " "), "--config "+configPath) {
					t.Errorf("container %q: args %q lack --config %s", c.Name, c.Args, configPath)
				}
				// The image: a name kustomization.yaml pins, nothing else.
				if _, ok := images[c.Image]; !ok {
					t.Errorf("container %q: image %q is not one of kustomization.yaml's images (which pin the tag/digest)", c.Name, c.Image)
				}
				// S3 credentials only from the Secret; no literal credentials.
				if !slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool {
					return e.SecretRef != nil && e.SecretRef.Name == s3Secret
				}) {
					t.Errorf("container %q: does not take the Secret %s", c.Name, s3Secret)
				}
				for _, e := range c.Env {
					if regexp.MustCompile(`(?i)secret|access_key|password|token`).MatchString(e.Name) && e.Value != "" {
						t.Errorf("container %q: env %s has a literal value", c.Name, e.Name)
					}
				}
			}
		})
	}
}

// Every Job (and the CronJob's Job template) ends: a deadline, a TTL, a
// podFailurePolicy that does not count disruptions; the CronJob does not
// overlap itself.
func TestDeadlinesAndTTLs(t *testing.T) {
	o := loadAll(t)
	for name, js := range o.pods() {
		if js.ActiveDeadlineSeconds == nil || *js.ActiveDeadlineSeconds <= 0 {
			t.Errorf("%s: no activeDeadlineSeconds", name)
		}
		if js.TTLSecondsAfterFinished == nil {
			t.Errorf("%s: no ttlSecondsAfterFinished", name)
		}
		if js.PodFailurePolicy == nil || !slices.ContainsFunc(js.PodFailurePolicy.Rules, func(r batchv1.PodFailurePolicyRule) bool {
			return r.Action == batchv1.PodFailurePolicyActionIgnore && slices.ContainsFunc(r.OnPodConditions, func(c batchv1.PodFailurePolicyOnPodConditionsPattern) bool {
				return c.Type == corev1.DisruptionTarget
			})
		}) {
			t.Errorf("%s: no podFailurePolicy rule ignoring DisruptionTarget (evictions would use up retries)", name)
		}
		if js.PodFailurePolicy != nil {
			for _, r := range js.PodFailurePolicy.Rules {
				if r.Action == batchv1.PodFailurePolicyActionFailIndex && js.BackoffLimitPerIndex == nil {
					t.Errorf("%s: FailIndex without backoffLimitPerIndex", name)
				}
			}
		}
	}
	for f, c := range o.cronJobs {
		if c.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			t.Errorf("%s: concurrencyPolicy %q, want Forbid", f, c.Spec.ConcurrencyPolicy)
		}
		if c.Spec.StartingDeadlineSeconds == nil {
			t.Errorf("%s: no startingDeadlineSeconds", f)
		}
		if c.Spec.TimeZone == nil || *c.Spec.TimeZone == "" {
			t.Errorf("%s: no timeZone (the schedule would follow the controller's zone)", f)
		}
	}
}

func containerArgs(js *batchv1.JobSpec) string {
	return strings.Join(js.Template.Spec.Containers[0].Args, " ")
}

// The Indexed Job: one shard per index, retried per index, and the merge
// Job merges the same variant over the same number of shards.
func TestIndexedJobShards(t *testing.T) {
	o := loadAll(t)
	job := o.jobs["indexed-job.yaml"]
	if job == nil {
		t.Fatal("no indexed-job.yaml")
	}
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Fatal("not an Indexed Job")
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Parallelism != *s.Completions {
		t.Fatalf("completions %v, parallelism %v: want equal", s.Completions, s.Parallelism)
	}
	n := int(*s.Completions)
	a := containerArgs(&s)
	m := regexp.MustCompile(`^run (\S+) .*--shard \$\(JOB_COMPLETION_INDEX\)/(\d+)`).FindStringSubmatch(a)
	if m == nil || m[2] != strconv.Itoa(n) {
		t.Fatalf("args %q: want run VARIANT ... --shard $(JOB_COMPLETION_INDEX)/%d", a, n)
	}
	if s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex < 1 {
		t.Error("no backoffLimitPerIndex: one failing shard would use up every shard's retries")
	}
	if s.BackoffLimit != nil {
		t.Error("backoffLimit set beside backoffLimitPerIndex: it would cap the retries of all shards together")
	}
	if s.PodFailurePolicy == nil || !slices.ContainsFunc(s.PodFailurePolicy.Rules, func(r batchv1.PodFailurePolicyRule) bool {
		return r.Action == batchv1.PodFailurePolicyActionFailIndex && r.OnExitCodes != nil
	}) {
		t.Error("podFailurePolicy has no FailIndex rule for exit codes that retrying cannot fix")
	}
	merge := o.jobs["merge-job.yaml"]
	if merge == nil {
		t.Fatal("no merge-job.yaml")
	}
	ma := containerArgs(&merge.Spec)
	if !strings.HasPrefix(ma, "merge "+m[1]+" ") || !strings.Contains(ma, "--shards "+strconv.Itoa(n)) {
		t.Errorf("merge job %q does not merge the %d shards of %s", ma, n, m[1])
	}
	if merge.Spec.Suspend == nil || !*merge.Spec.Suspend {
		t.Error("merge job is not suspended: applied with the indexed job it would run before the shards finish")
	}
}

// The GPU Job selects the GPU runtime and asks for one GPU, and runs the
// XLA/CUDA image.
func TestGPUJob(t *testing.T) {
	o := loadAll(t)
	job := o.jobs["gpu-job.yaml"]
	if job == nil {
		t.Fatal("no gpu-job.yaml")
	}
	pod := job.Spec.Template.Spec
	if pod.RuntimeClassName == nil || *pod.RuntimeClassName != "nvidia" {
		t.Error("runtimeClassName is not nvidia")
	}
	if pod.NodeSelector["nvidia.com/gpu.present"] != "true" {
		t.Error("nodeSelector lacks nvidia.com/gpu.present=true")
	}
	if !slices.ContainsFunc(pod.Tolerations, func(tol corev1.Toleration) bool {
		return tol.Key == "nvidia.com/gpu" && tol.Operator == corev1.TolerationOpExists && tol.Effect == corev1.TaintEffectNoSchedule
	}) {
		t.Error("no toleration of the nvidia.com/gpu:NoSchedule taint")
	}
	c := pod.Containers[0]
	gpu := corev1.ResourceName("nvidia.com/gpu")
	if q := c.Resources.Limits[gpu]; q.Cmp(resource.MustParse("1")) != 0 {
		t.Errorf("limits nvidia.com/gpu = %s, want 1", q.String())
	}
	if c.Image != "medflow-gpu" {
		t.Errorf("image %q, want medflow-gpu (the Dockerfile's gpu target)", c.Image)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMLX_BACKEND" && e.Value == "xla:cuda" }) {
		t.Error("GOMLX_BACKEND is not xla:cuda")
	}
}

// The Secret is only an example with placeholders, outside the
// kustomization, so applying never overwrites real credentials.
func TestSecretExample(t *testing.T) {
	o := loadAll(t)
	if slices.Contains(o.kust.Resources, secretSample) {
		t.Errorf("kustomization.yaml applies %s (placeholder credentials)", secretSample)
	}
	s := o.secrets[secretSample]
	if s == nil || s.Name != s3Secret {
		t.Fatalf("%s: no Secret %s", secretSample, s3Secret)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if v, ok := s.StringData[k]; !ok || v != "REPLACE_ME" {
			t.Errorf("%s: %s is %q, want the placeholder REPLACE_ME", secretSample, k, v)
		}
	}
	if len(s.Data) > 0 {
		t.Errorf("%s: has data values", secretSample)
	}
	if len(o.secrets) != 1 {
		t.Errorf("%d Secret manifests; only the example belongs here", len(o.secrets))
	}
}

// pipelinesFile is the file kustomization.yaml turns into the ConfigMap.
func pipelinesFile(t *testing.T, k kustomization) (string, []byte) {
	t.Helper()
	for _, g := range k.ConfigMapGenerator {
		if g.Name == configMap {
			if len(g.Files) != 1 || filepath.Base(configPath) != filepath.Base(g.Files[0]) {
				t.Fatalf("ConfigMap %s: files %v, want one %s (mounted as %s)", configMap, g.Files, filepath.Base(configPath), configPath)
			}
			b, err := os.ReadFile(g.Files[0])
			if err != nil {
				t.Fatal(err)
			}
			return g.Files[0], b
		}
	}
	t.Fatalf("kustomization.yaml generates no ConfigMap %s", configMap)
	return "", nil
}

func registry(t *testing.T) *pipeline.Registry {
	t.Helper()
	reg, err := stages.NewRegistry(stages.Deps{Open: func(ctx context.Context, uri string) (objstore.Store, error) {
		return nil, errors.New("no I/O at plan time")
	}})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// Every variant a Job or CronJob runs exists in the ConfigMap's pipelines
// file and plans (as medflow plans it, with the Job's shard), and so does
// every other variant of that file.
func TestVariantsPlan(t *testing.T) {
	o := loadAll(t)
	name, src := pipelinesFile(t, o.kust)
	f, err := config.Parse(name, src)
	if err != nil {
		t.Fatal(err)
	}
	reg := registry(t)
	run := regexp.MustCompile(`^(run|merge) (\S+)`)
	shardRE := regexp.MustCompile(`--shard \S+/(\d+)`)
	setRE := regexp.MustCompile(`--set (\S+)`)
	planned := map[string]bool{}
	for job, js := range o.pods() {
		a := containerArgs(js)
		m := run.FindStringSubmatch(a)
		if m == nil {
			t.Errorf("%s: args %q: want run|merge VARIANT", job, a)
			continue
		}
		// The Job's --set overrides apply, as the CLI applies them.
		var sets []string
		for _, sm := range setRE.FindAllStringSubmatch(a, -1) {
			sets = append(sets, sm[1])
		}
		overrides, err := config.Overrides(sets)
		if err != nil {
			t.Errorf("%s: %v", job, err)
			continue
		}
		spec, err := f.Variant(m[2], overrides)
		if err != nil {
			t.Errorf("%s: %v", job, err)
			continue
		}
		if job == "gpu-job.yaml" && !slices.Contains(sets, "embed.runtime=gomlx") {
			t.Errorf("%s: no --set embed.runtime=gomlx: the embeddings would run on ONNX Runtime's CPU build", job)
		}
		opts := pipeline.PlanOptions{}
		if s := shardRE.FindStringSubmatch(a); s != nil {
			count, _ := strconv.Atoi(s[1])
			opts.Shard = pipeline.Shard{Index: count - 1, Count: count}
		}
		if _, err := reg.Plan(spec, opts); err != nil {
			t.Errorf("%s: variant %s does not plan: %v", job, m[2], err)
		}
		planned[m[2]] = true
	}
	for _, v := range []string{"mimic-ingest", "llm-contrastive"} {
		if !planned[v] {
			t.Errorf("no Job runs %s", v)
		}
	}
	for _, v := range f.Variants() {
		spec, err := f.Variant(v, nil)
		if err == nil {
			_, err = reg.Plan(spec, pipeline.PlanOptions{})
		}
		if err != nil {
			t.Errorf("variant %s: %v", v, err)
		}
	}
}

// locationParams are the params the cluster's pipelines file may set
// differently from the repository's: where data, datasets and models live.
var locationParams = map[string]bool{"root": true, "uri": true, "model": true}

// The cluster's pipelines file is a subset of the repository's
// pipelines.yaml: each of its variants exists there with the same stages,
// kinds, inputs, workers, materialization and params, but for locations.
func TestPipelinesMatchRepository(t *testing.T) {
	o := loadAll(t)
	name, src := pipelinesFile(t, o.kust)
	cluster, err := config.Parse(name, src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../pipelines.yaml")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := config.Parse("pipelines.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range cluster.Variants() {
		cs, err := cluster.Variant(v, nil)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := repo.Variant(v, nil)
		if err != nil {
			t.Errorf("variant %s: not in the repository's pipelines.yaml: %v", v, err)
			continue
		}
		if len(cs.Stages) != len(rs.Stages) {
			t.Errorf("variant %s: %d stages, the repository's has %d", v, len(cs.Stages), len(rs.Stages))
			continue
		}
		for i, c := range cs.Stages {
			r := rs.Stages[i]
			if c.Name != r.Name || c.Kind != r.Kind || !slices.Equal(c.Inputs, r.Inputs) || c.Workers != r.Workers ||
				c.Buffer != r.Buffer || c.Materialize != r.Materialize {
				t.Errorf("variant %s: stage %d is %s %s <- %v (workers %d, materialize %v); the repository's is %s %s <- %v (workers %d, materialize %v)",
					v, i, c.Name, c.Kind, c.Inputs, c.Workers, c.Materialize, r.Name, r.Kind, r.Inputs, r.Workers, r.Materialize)
				continue
			}
			cp, rp := withoutLocations(c.Params), withoutLocations(r.Params)
			if !reflect.DeepEqual(cp, rp) {
				t.Errorf("variant %s: stage %s: params %v, the repository's %v", v, c.Name, cp, rp)
			}
			for k := range c.Params {
				if locationParams[k] {
					if s, _ := c.Params[k].(string); strings.HasPrefix(s, ".") {
						t.Errorf("variant %s: stage %s: %s %q is relative to the pod's working folder", v, c.Name, k, s)
					}
				}
			}
		}
	}
}

func withoutLocations(p map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		if !locationParams[k] {
			out[k] = v
		}
	}
	return out
}

// The Kubernetes modules stay test-only: the medflow binary does not link
// them.
func TestBinaryDoesNotLinkKubernetes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/medflow/medflow/cmd/medflow").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "k8s.io/api/") || strings.HasPrefix(p, "k8s.io/apimachinery/") || strings.HasPrefix(p, "sigs.k8s.io/yaml") || strings.HasPrefix(p, "sigs.k8s.io/kustomize/") {
			t.Errorf("cmd/medflow links %s", p)
		}
	}
}
