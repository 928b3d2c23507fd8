package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const kubeDir = "kubernetes"

// kustomization is the part of kustomize's Kustomization these manifests use.
// Decoded strictly: a field kustomize would read and this struct does not know
// fails the test, so add it here when a kustomization starts using it.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	} `json:"labels,omitempty"`
	Resources          []string `json:"resources,omitempty"`
	ConfigMapGenerator []struct {
		Name     string   `json:"name"`
		Behavior string   `json:"behavior,omitempty"`
		Files    []string `json:"files,omitempty"`
	} `json:"configMapGenerator,omitempty"`
	Patches []struct {
		Target struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"target"`
		Patch string `json:"patch"`
	} `json:"patches,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
}

// jsonPatchOp is one operation of an inline JSON 6902 patch.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// object is one decoded manifest.
type object struct {
	file string
	kind string
	name string
	obj  any
	// images maps each container image as the manifest writes it to what
	// the `images:` of the kustomizations that include the object make of
	// it: kustomize applies a kustomization's images to its own resources
	// and its bases' only, never to those of the overlay above it.
	images map[string]string
}

// build is what `kubectl kustomize <dir>` would assemble, as far as these
// tests need it: the objects (with their images mapped), the generated
// ConfigMaps (name → key → file), and every file the build read.
type build struct {
	dir        string
	objects    []object
	configMaps map[string]map[string]string
	files      map[string]bool
}

// decodeManifest decodes one document with the Kubernetes API type of its
// kind, strictly: unknown or misspelt fields fail.
func decodeManifest(t *testing.T, file string, doc []byte) object {
	t.Helper()
	var tm metav1.TypeMeta
	// lenient first pass: only to pick the type
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	want := map[string]struct {
		apiVersion string
		newObj     func() any
	}{
		"Namespace":               {"v1", func() any { return &corev1.Namespace{} }},
		"ServiceAccount":          {"v1", func() any { return &corev1.ServiceAccount{} }},
		"Service":                 {"v1", func() any { return &corev1.Service{} }},
		"ConfigMap":               {"v1", func() any { return &corev1.ConfigMap{} }},
		"Deployment":              {"apps/v1", func() any { return &appsv1.Deployment{} }},
		"DaemonSet":               {"apps/v1", func() any { return &appsv1.DaemonSet{} }},
		"HorizontalPodAutoscaler": {"autoscaling/v2", func() any { return &autoscalingv2.HorizontalPodAutoscaler{} }},
		"PodDisruptionBudget":     {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
	}[tm.Kind]
	if want.newObj == nil {
		t.Fatalf("%s: kind %q: not a kind these tests know; add it to decodeManifest", file, tm.Kind)
	}
	if tm.APIVersion != want.apiVersion {
		t.Fatalf("%s: %s with apiVersion %q, want %q", file, tm.Kind, tm.APIVersion, want.apiVersion)
	}
	obj := want.newObj()
	strictYAML(t, file, doc, obj)
	name := obj.(metav1.Object).GetName()
	if name == "" {
		t.Fatalf("%s: %s without metadata.name", file, tm.Kind)
	}
	return object{file: file, kind: tm.Kind, name: name, obj: obj}
}

// loadKustomization walks a kustomization and the bases it names.
func loadKustomization(t *testing.T, dir string) *build {
	t.Helper()
	kpath := filepath.Join(dir, "kustomization.yaml")
	var k kustomization
	strictYAMLFile(t, kpath, &k)
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("%s: apiVersion %q kind %q", kpath, k.APIVersion, k.Kind)
	}
	b := &build{dir: dir, configMaps: map[string]map[string]string{}, files: map[string]bool{kpath: true}}
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: resource %q: %v", kpath, r, err)
		}
		if st.IsDir() {
			sub := loadKustomization(t, p)
			b.objects = append(b.objects, sub.objects...)
			for n, files := range sub.configMaps {
				b.configMaps[n] = files
			}
			for f := range sub.files {
				b.files[f] = true
			}
			continue
		}
		b.files[p] = true
		for _, doc := range yamlDocuments(t, p) {
			b.objects = append(b.objects, decodeManifest(t, p, doc))
		}
	}
	for _, g := range k.ConfigMapGenerator {
		files := map[string]string{}
		for _, f := range g.Files {
			key, src, ok := strings.Cut(f, "=")
			if !ok {
				key, src = filepath.Base(f), f
			}
			p := filepath.Join(dir, src)
			mustExist(t, p, fmt.Sprintf("%s: configMapGenerator %s", kpath, g.Name))
			b.files[p] = true
			files[key] = p
		}
		_, exists := b.configMaps[g.Name]
		switch g.Behavior {
		case "", "create":
			if exists {
				t.Fatalf("%s: configMapGenerator %s already exists in a base: say behavior: replace or merge", kpath, g.Name)
			}
			b.configMaps[g.Name] = files
		case "replace":
			if !exists {
				t.Fatalf("%s: configMapGenerator %s replaces nothing", kpath, g.Name)
			}
			b.configMaps[g.Name] = files
		case "merge":
			if !exists {
				t.Fatalf("%s: configMapGenerator %s merges into nothing", kpath, g.Name)
			}
			for key, p := range files {
				b.configMaps[g.Name][key] = p
			}
		default:
			t.Fatalf("%s: configMapGenerator %s: behavior %q", kpath, g.Name, g.Behavior)
		}
	}
	for _, p := range k.Patches {
		found := false
		for _, o := range b.objects {
			found = found || (o.kind == p.Target.Kind && o.name == p.Target.Name)
		}
		if !found {
			t.Errorf("%s: a patch targets %s %s, which the build does not contain", kpath, p.Target.Kind, p.Target.Name)
		}
		var ops []jsonPatchOp
		strictYAML(t, kpath+": patch", []byte(p.Patch), &ops)
		for _, op := range ops {
			if op.Op != "add" && op.Op != "replace" && op.Op != "remove" && op.Op != "test" || !strings.HasPrefix(op.Path, "/") {
				t.Errorf("%s: patch operation %+v", kpath, op)
			}
		}
		// applied as kustomize would, so that the tests see the patched objects
		for i := range b.objects {
			o := &b.objects[i]
			if o.kind != p.Target.Kind || o.name != p.Target.Name {
				continue
			}
			patched := applyJSONPatch(t, kpath, o.obj, ops)
			file, images := o.file, o.images
			*o = decodeManifest(t, file+" (patched by "+kpath+")", patched)
			o.file, o.images = file, images
		}
	}
	for i := range b.objects {
		o := &b.objects[i]
		if o.images == nil {
			o.images = map[string]string{}
		}
		for _, written := range podImages(o.obj) {
			current, ok := o.images[written]
			if !ok {
				current = written
			}
			for _, img := range k.Images {
				if imageName(current) != img.Name {
					continue
				}
				newName := img.NewName
				if newName == "" {
					newName = img.Name
				}
				o.images[written] = newName + ":" + img.NewTag
			}
		}
	}
	return b
}

// applyJSONPatch applies the add, replace, remove and test operations of a
// JSON 6902 patch to obj and returns the result as JSON. A path that does
// not resolve, or a test that does not hold, fails the test, as it fails
// kustomize.
func applyJSONPatch(t *testing.T, where string, obj any, ops []jsonPatchOp) []byte {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	for _, op := range ops {
		var value any
		if op.Value != nil {
			// a fresh copy per use, in the JSON types the document has
			v, err := json.Marshal(op.Value)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if err := json.Unmarshal(v, &value); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
		}
		var keys []string
		for _, k := range strings.Split(op.Path, "/")[1:] {
			keys = append(keys, strings.ReplaceAll(strings.ReplaceAll(k, "~1", "/"), "~0", "~"))
		}
		if op.Op == "test" {
			got, err := valueAt(doc, keys)
			if err != nil {
				t.Fatalf("%s: patch test %s: %v", where, op.Path, err)
			}
			if !reflect.DeepEqual(got, value) {
				t.Fatalf("%s: patch test %s: the value is %v, not %v", where, op.Path, got, value)
			}
			continue
		}
		doc, err = patchAt(doc, keys, op.Op, value)
		if err != nil {
			t.Fatalf("%s: patch %s %s: %v", where, op.Op, op.Path, err)
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	return out
}

// valueAt is the value at keys below node.
func valueAt(node any, keys []string) (any, error) {
	for _, key := range keys {
		switch n := node.(type) {
		case map[string]any:
			child, ok := n[key]
			if !ok {
				return nil, fmt.Errorf("no %q", key)
			}
			node = child
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(n) {
				return nil, fmt.Errorf("index %q out of %d items", key, len(n))
			}
			node = n[i]
		default:
			return nil, fmt.Errorf("%q: not an object or an array", key)
		}
	}
	return node, nil
}

// patchAt applies one operation at keys below node and returns the node.
func patchAt(node any, keys []string, op string, value any) (any, error) {
	if len(keys) == 0 {
		if op == "remove" {
			return nil, fmt.Errorf("cannot remove the document")
		}
		return value, nil
	}
	key, last := keys[0], len(keys) == 1
	switch n := node.(type) {
	case map[string]any:
		child, exists := n[key]
		if last {
			switch {
			case op == "add":
				n[key] = value
			case !exists:
				return nil, fmt.Errorf("no %q", key)
			case op == "replace":
				n[key] = value
			default:
				delete(n, key)
			}
			return n, nil
		}
		if !exists {
			return nil, fmt.Errorf("no %q", key)
		}
		child, err := patchAt(child, keys[1:], op, value)
		if err != nil {
			return nil, err
		}
		n[key] = child
		return n, nil
	case []any:
		if last && op == "add" && key == "-" {
			return append(n, value), nil
		}
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i > len(n) || (i == len(n) && !(last && op == "add")) {
			return nil, fmt.Errorf("index %q out of %d items", key, len(n))
		}
		if last {
			switch op {
			case "add":
				return append(n[:i], append([]any{value}, n[i:]...)...), nil
			case "replace":
				n[i] = value
				return n, nil
			default:
				return append(n[:i], n[i+1:]...), nil
			}
		}
		child, err := patchAt(n[i], keys[1:], op, value)
		if err != nil {
			return nil, err
		}
		n[i] = child
		return n, nil
	default:
		return nil, fmt.Errorf("%q: not an object or an array", key)
	}
}

// podImages are the container images of a workload's pod template.
func podImages(obj any) []string {
	var spec *corev1.PodSpec
	switch w := obj.(type) {
	case *appsv1.Deployment:
		spec = &w.Spec.Template.Spec
	case *appsv1.DaemonSet:
		spec = &w.Spec.Template.Spec
	default:
		return nil
	}
	var out []string
	for _, c := range allContainers(spec) {
		out = append(out, c.Image)
	}
	return out
}

// imageName is an image reference without its tag or digest, what an
// `images:` entry's name matches.
func imageName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// image is what the build makes of a container image of a workload
// ("Deployment/name"): mapped is false when no `images:` applies to it.
func (b *build) image(workload, written string) (ref string, mapped bool) {
	for _, o := range b.objects {
		if o.kind+"/"+o.name == workload {
			ref, mapped = o.images[written]
			if !mapped {
				ref = written
			}
			return ref, mapped
		}
	}
	return written, false
}

// overlays are the directories a user applies with kubectl apply -k.
func overlays(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(kubeDir, "overlays", "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(dirs)
	want := []string{"daemonset", "gateway-tier", "sidecar"}
	var got []string
	for _, d := range dirs {
		got = append(got, filepath.Base(d))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("overlays %v, want %v", got, want)
	}
	return dirs
}

// examples are the kustomizations deploy/README.md tells a user to copy:
// an overlay of their own over one of ours, with their own krakend.json.
func examples(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(kubeDir, "examples", "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(dirs)
	if len(dirs) == 0 {
		t.Fatal("no example under kubernetes/examples")
	}
	return dirs
}

// kustomizations are the overlays and the examples: everything applied.
func kustomizations(t *testing.T) []string {
	t.Helper()
	return append(overlays(t), examples(t)...)
}

func (b *build) find(kind, name string) (object, bool) {
	for _, o := range b.objects {
		if o.kind == kind && o.name == name {
			return o, true
		}
	}
	return object{}, false
}

// workloads are the pod templates of the build's Deployments and DaemonSets.
func (b *build) workloads() map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for _, o := range b.objects {
		switch w := o.obj.(type) {
		case *appsv1.Deployment:
			out["Deployment/"+o.name] = &w.Spec.Template
		case *appsv1.DaemonSet:
			out["DaemonSet/"+o.name] = &w.Spec.Template
		}
	}
	return out
}

func allContainers(spec *corev1.PodSpec) []corev1.Container {
	return append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...)
}
