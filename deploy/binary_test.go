package deploy

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The collector configurations of the manifests and of the compose stack,
// validated by the built binary exactly as the containers start it: the same
// --config arguments, over the files the ConfigMaps and bind mounts would
// place at those paths. It needs the binary:
//
//	OTELCOL_GATEWAY_BIN=$PWD/../cmd/otelcol-gateway/otelcol-gateway go test -run '^TestBinary' ./...
//
// (`make integration` sets it.) Without the variable it fails: it is not
// skipped.
func TestBinaryValidatesCollectorConfigs(t *testing.T) {
	bin := os.Getenv("OTELCOL_GATEWAY_BIN")
	if bin == "" {
		t.Fatal("OTELCOL_GATEWAY_BIN is not set: build the distribution (make build) and run with OTELCOL_GATEWAY_BIN=<path to cmd/otelcol-gateway/otelcol-gateway>, or leave this test out with -skip '^TestBinary'")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("OTELCOL_GATEWAY_BIN: %v", err)
	}
	components := runBinary(t, bin, nil, "components")
	if components.err != nil {
		t.Fatalf("components: %v\n%s", components.err, components.out)
	}
	// the gateway tier's agents route by trace ID with it
	if !strings.Contains(components.out, "name: loadbalancing") {
		t.Fatalf("components: the distribution lacks the loadbalancing exporter\n%s", components.out)
	}

	t.Run("kubernetes", func(t *testing.T) {
		checked := 0
		for _, dir := range kustomizations(t) {
			b := loadKustomization(t, dir)
			for wname, tpl := range b.workloads() {
				for _, c := range allContainers(&tpl.Spec) {
					if c.Image != collectorImage {
						continue
					}
					checked++
					t.Run(filepath.Base(dir)+"/"+wname, func(t *testing.T) {
						root := t.TempDir()
						// place each mounted ConfigMap's files at their mount path under root
						for _, m := range c.VolumeMounts {
							files := b.configMaps[volumeConfigMap(t, tpl, m.Name)]
							for key, src := range files {
								copyFile(t, src, filepath.Join(root, m.MountPath, key))
							}
						}
						validate(t, bin, rootArgs(c.Args, root), containerEnv(c))
						checkPorts(t, bin, rootArgs(c.Args, root), containerEnv(c), tpl, c)
					})
				}
			}
		}
		if checked < 3 {
			t.Errorf("validated %d collector containers, want the sidecar, the node collector and the tier at least", checked)
		}
	})

	// A krakend.json that names the collector by one of the sidecar pod's
	// loopback aliases (KrakenD's examples say otel-collector) runs
	// unchanged: with the container's environment the collector listens on
	// that entry's port instead of forwarding to it. The overlay's file is
	// pointed at each alias; the example's names otel-collector already.
	t.Run("sidecar-aliases", func(t *testing.T) {
		for _, dir := range []string{filepath.Join(kubeDir, "overlays", "sidecar"), filepath.Join(kubeDir, "examples", "my-sidecar")} {
			b := loadKustomization(t, dir)
			tpl := b.workloads()["Deployment/krakend"]
			c := container(t, tpl, "otelcol-gateway")
			src := b.configMaps["krakend-config"]["krakend.json"]
			raw, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			for _, alias := range sidecarLoopbackAliases(tpl) {
				edited := strings.Replace(string(raw), `"host": "localhost"`, `"host": "`+alias+`"`, 1)
				if !strings.Contains(edited, `"host": "`+alias+`"`) {
					t.Fatalf("%s: no OTLP host to point at %s", src, alias)
				}
				path := filepath.Join(t.TempDir(), "krakend.json")
				if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
					t.Fatal(err)
				}
				checkListensAsItself(t, bin, path, alias, containerEnv(c))
			}
		}
	})

	t.Run("compose", func(t *testing.T) {
		s := loadCompose(t).Services["otelcol"]
		root := t.TempDir()
		for dst, src := range s.binds(t) {
			copyFile(t, src, filepath.Join(root, dst))
		}
		var env []string
		for k, v := range s.Environment {
			env = append(env, k+"="+v)
		}
		validate(t, bin, rootArgs(s.Command, root), env)
	})
}

// checkListensAsItself runs print-config on krakend.json with env and fails
// when the collector forwards to host instead of listening on 4317.
func checkListensAsItself(t *testing.T, bin, krakendJSON, host string, env []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "print-config", "--config=krakend:"+krakendJSON)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("print-config: %v\n%s", err, stderr.String())
	}
	var cfg struct {
		Exporters map[string]map[string]any `json:"exporters"`
		Receivers map[string]struct {
			Protocols struct {
				GRPC struct {
					Endpoint string `json:"endpoint"`
				} `json:"grpc"`
			} `json:"protocols"`
		} `json:"receivers"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("print-config output: %v", err)
	}
	for id, e := range cfg.Exporters {
		if ep, _ := e["endpoint"].(string); strings.Contains(ep, host) {
			t.Errorf("host %s: exporter %s forwards to %s: the collector does not know the name as its own", host, id, ep)
		}
	}
	if got := cfg.Receivers["gateway"].Protocols.GRPC.Endpoint; got != "0.0.0.0:4317" {
		t.Errorf("host %s: the gateway receiver listens on %q, want 0.0.0.0:4317", host, got)
	}
}

// checkPorts runs print-config with the container's arguments and fails
// when a port the container declares is one the collector does not listen
// on beyond the loopback (a Service, probe or scrape job aimed at it finds
// nothing), or when the pod's prometheus.io/port annotation names a port
// that neither the collector serves nor another container declares.
func checkPorts(t *testing.T, bin string, args, env []string, tpl *corev1.PodTemplateSpec, c corev1.Container) {
	t.Helper()
	out := printConfig(t, bin, args, env)
	var cfg struct {
		Receivers  map[string]map[string]any `json:"receivers"`
		Exporters  map[string]map[string]any `json:"exporters"`
		Extensions map[string]map[string]any `json:"extensions"`
		Service    struct {
			Telemetry struct {
				Metrics struct {
					Readers []struct {
						Pull struct {
							Exporter struct {
								Prometheus struct {
									Host string `json:"host"`
									Port int32  `json:"port"`
								} `json:"prometheus"`
							} `json:"exporter"`
						} `json:"pull"`
					} `json:"readers"`
				} `json:"metrics"`
			} `json:"telemetry"`
		} `json:"service"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("print-config output: %v\n%s", err, out)
	}
	listens := map[int32]string{} // port → what listens there beyond the loopback
	add := func(what, endpoint string) {
		host, port, err := net.SplitHostPort(endpoint)
		if err != nil {
			t.Errorf("%s: endpoint %q: %v", what, endpoint, err)
			return
		}
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			t.Errorf("%s: endpoint %q: %v", what, endpoint, err)
			return
		}
		listens[int32(n)] = what
	}
	for id, rc := range cfg.Receivers {
		protocols, _ := rc["protocols"].(map[string]any)
		for proto, pc := range protocols {
			if m, ok := pc.(map[string]any); ok {
				if ep, ok := m["endpoint"].(string); ok {
					add("receiver "+id+" "+proto, ep)
				}
			}
		}
	}
	for id, ec := range cfg.Exporters {
		if componentType(id) == "prometheus" {
			ep, _ := ec["endpoint"].(string)
			add("exporter "+id, ep)
		}
	}
	for id, ec := range cfg.Extensions {
		if ep, ok := ec["endpoint"].(string); ok {
			add("extension "+id, ep)
		}
	}
	for _, rd := range cfg.Service.Telemetry.Metrics.Readers {
		if p := rd.Pull.Exporter.Prometheus; p.Port != 0 {
			add("the collector's own metrics", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
		}
	}
	for _, p := range c.Ports {
		if _, ok := listens[p.ContainerPort]; !ok {
			t.Errorf("the container declares port %s %d, on which the collector does not listen (it listens on %v)", p.Name, p.ContainerPort, listens)
		}
	}
	if a, ok := tpl.Annotations["prometheus.io/port"]; ok {
		n, err := strconv.Atoi(a)
		if err != nil {
			t.Errorf("annotation prometheus.io/port %q: %v", a, err)
		} else if _, ok := listens[int32(n)]; !ok && !declaredElsewhere(tpl, c, int32(n)) {
			t.Errorf("annotation prometheus.io/port %q: the pod's collector does not serve it (it listens on %v)", a, listens)
		}
	}
}

// declaredElsewhere tells whether a container of tpl other than c declares
// port n.
func declaredElsewhere(tpl *corev1.PodTemplateSpec, c corev1.Container, n int32) bool {
	for _, x := range allContainers(&tpl.Spec) {
		if x.Name == c.Name {
			continue
		}
		for _, p := range x.Ports {
			if p.ContainerPort == n {
				return true
			}
		}
	}
	return false
}

// printConfig is print-config's output (stdout alone) for args.
func printConfig(t *testing.T, bin string, args, env []string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"print-config"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("print-config %q: %v\n%s", args, err, stderr.String())
	}
	return out
}

type result struct {
	out string
	err error
}

func runBinary(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// only what the container would have, plus PATH and HOME
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	out, err := cmd.CombinedOutput()
	return result{string(out), err}
}

// validate runs the collector's own `validate` on the arguments.
func validate(t *testing.T, bin string, args, env []string) {
	t.Helper()
	if r := runBinary(t, bin, env, append([]string{"validate"}, args...)...); r.err != nil {
		t.Errorf("validate %q: %v\n%s", args, r.err, r.out)
	}
}

// rootArgs moves every absolute path in --config arguments under root.
func rootArgs(args []string, root string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			scheme := ""
			if s, path, ok := strings.Cut(v, ":"); ok && (s == "krakend" || s == "file") {
				scheme, v = s+":", path
			}
			if strings.HasPrefix(v, "/") {
				a = "--config=" + scheme + filepath.Join(root, v)
			}
		}
		out = append(out, a)
	}
	return out
}

// containerEnv is a container's environment as the kubelet would set it;
// downward API values get stand-ins.
func containerEnv(c corev1.Container) []string {
	var env []string
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			v = "stand-in"
		}
		env = append(env, e.Name+"="+v)
	}
	return env
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// files is the content of every file under root, concatenated.
func files(root string) string {
	var b strings.Builder
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			raw, _ := os.ReadFile(path)
			b.Write(raw)
		}
		return nil
	})
	return b.String()
}
