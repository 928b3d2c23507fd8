package deploy

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Kubernetes scrape jobs of deploy/README.md parse, and each keeps a
// named port that an otelcol-gateway container of every overlay and example
// declares: the gateway's metrics (with honor_labels) and the collector's
// own.
func TestPrometheusKubernetesScrapeJobsFindTheCollectors(t *testing.T) {
	file := filepath.Join("prometheus", "kubernetes.yml")
	var cfg struct {
		ScrapeConfigs []struct {
			JobName             string `json:"job_name"`
			HonorLabels         bool   `json:"honor_labels,omitempty"`
			KubernetesSDConfigs []struct {
				Role       string `json:"role"`
				Namespaces struct {
					Names []string `json:"names"`
				} `json:"namespaces"`
			} `json:"kubernetes_sd_configs"`
			RelabelConfigs []struct {
				SourceLabels []string `json:"source_labels,omitempty"`
				Regex        string   `json:"regex,omitempty"`
				Action       string   `json:"action,omitempty"`
				TargetLabel  string   `json:"target_label,omitempty"`
			} `json:"relabel_configs"`
		} `json:"scrape_configs"`
	}
	strictYAMLFile(t, file, &cfg)
	ports := map[string]int32{}
	for _, sc := range cfg.ScrapeConfigs {
		if len(sc.KubernetesSDConfigs) != 1 || sc.KubernetesSDConfigs[0].Role != "pod" {
			t.Errorf("job %s: want one kubernetes_sd_configs of role pod", sc.JobName)
			continue
		}
		if ns := sc.KubernetesSDConfigs[0].Namespaces.Names; len(ns) != 1 || ns[0] != "otelcol-gateway" {
			t.Errorf("job %s: namespaces %q, want the manifests' otelcol-gateway", sc.JobName, ns)
		}
		for _, rc := range sc.RelabelConfigs {
			if rc.Action != "keep" {
				continue
			}
			if strings.Join(rc.SourceLabels, ",") != "__meta_kubernetes_pod_container_name,__meta_kubernetes_pod_container_port_name" {
				t.Errorf("job %s: keep on %q", sc.JobName, rc.SourceLabels)
				continue
			}
			re := regexp.MustCompile("^(?:" + rc.Regex + ")$")
			// every build has a collector container the job keeps, by one of
			// its named ports (the gateway tier's agents serve no 9090: its
			// replicas do); TestBinaryValidatesCollectorConfigs checks that
			// the collector listens on every port its container declares
			for _, dir := range kustomizations(t) {
				b := loadKustomization(t, dir)
				matched := false
				for _, tpl := range b.workloads() {
					for _, c := range allContainers(&tpl.Spec) {
						if c.Image != collectorImage {
							continue
						}
						for _, p := range c.Ports {
							if re.MatchString(c.Name + ";" + p.Name) {
								matched = true
								ports[sc.JobName] = p.ContainerPort
							}
						}
					}
				}
				if !matched {
					t.Errorf("job %s: no collector container of %s has a port its regex %q keeps", sc.JobName, filepath.Base(dir), rc.Regex)
				}
			}
		}
	}
	if ports["otelcol-gateway"] != 9090 || ports["otelcol-gateway-self"] != 8888 {
		t.Errorf("jobs scrape ports %v, want otelcol-gateway 9090 and otelcol-gateway-self 8888", ports)
	}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName == "otelcol-gateway" && !sc.HonorLabels {
			t.Error("job otelcol-gateway scrapes the gateway's metrics: honor_labels keeps the gateway's job and instance")
		}
	}
}
