package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const composeDir = "compose"

// composeFile is the part of the Compose specification the stack uses,
// decoded strictly: a misspelt key fails.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
}

type composeService struct {
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
	} `json:"build,omitempty"`
	Image       string            `json:"image"`
	Command     []string          `json:"command,omitempty"`
	Entrypoint  []string          `json:"entrypoint,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
	Volumes     []string          `json:"volumes,omitempty"`
	Tmpfs       []string          `json:"tmpfs,omitempty"`
	Ports       []string          `json:"ports,omitempty"`
	ReadOnly    bool              `json:"read_only,omitempty"`
	NetworkMode string            `json:"network_mode,omitempty"`
	DependsOn   any               `json:"depends_on,omitempty"`
	Profiles    []string          `json:"profiles,omitempty"`
	Restart     string            `json:"restart,omitempty"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	strictYAMLFile(t, filepath.Join(composeDir, "docker-compose.yaml"), &c)
	return c
}

// binds maps each of a service's container paths to the file or directory
// on this machine that the compose file mounts there.
func (s composeService) binds(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[0], ".") {
			t.Fatalf("volume %q: want a ./relative bind mount", v)
		}
		out[parts[1]] = filepath.Join(composeDir, parts[0])
	}
	return out
}

// containerPorts are the container ports a service publishes.
func (s composeService) containerPorts() map[string]bool {
	out := map[string]bool{}
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		out[parts[len(parts)-1]] = true
	}
	return out
}

func dependsOn(s composeService) []string {
	switch d := s.DependsOn.(type) {
	case []any:
		var out []string
		for _, x := range d {
			out = append(out, x.(string))
		}
		return out
	case map[string]any:
		var out []string
		for k := range d {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	return nil
}

// The compose file parses, every file it mounts exists, and what services
// name of each other (network_mode, depends_on, build) is there.
func TestComposeFile(t *testing.T) {
	c := loadCompose(t)
	for _, want := range []string{"krakend", "otelcol", "prometheus", "tempo", "grafana"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("no service %s", want)
		}
	}
	for name, s := range c.Services {
		if s.Image == "" || (!strings.Contains(s.Image, ":") && s.Build == nil) || strings.HasSuffix(s.Image, ":latest") {
			t.Errorf("%s: image %q: pin a tag", name, s.Image)
		}
		for _, src := range s.binds(t) {
			mustExist(t, src, name+": mounted file")
		}
		if s.Build != nil {
			mustExist(t, filepath.Join(composeDir, s.Build.Context, s.Build.Dockerfile), name+": Dockerfile")
		}
		if peer, ok := strings.CutPrefix(s.NetworkMode, "service:"); ok {
			if _, ok := c.Services[peer]; !ok {
				t.Errorf("%s: network_mode names no service %s", name, peer)
			}
		}
		for _, d := range dependsOn(s) {
			if _, ok := c.Services[d]; !ok {
				t.Errorf("%s: depends_on names no service %s", name, d)
			}
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s: port %s: publish on 127.0.0.1 only (the stack has no authentication)", name, p)
			}
		}
	}

	// KrakenD shares the collector's network namespace: its localhost:4317 is the collector
	k := c.Services["krakend"]
	if k.NetworkMode != "service:otelcol" {
		t.Errorf("krakend: network_mode %q, want service:otelcol", k.NetworkMode)
	}
	kjson := k.binds(t)["/etc/krakend/krakend.json"]
	if kjson == "" {
		t.Fatal("krakend: nothing mounted at /etc/krakend/krakend.json")
	}
	if host, port := otlpExporter(t, kjson, nil); (host != "localhost" && host != "127.0.0.1") || port != 4317 {
		t.Errorf("krakend.json sends OTLP to %s:%d, want localhost:4317", host, port)
	}
	o := c.Services["otelcol"]
	if o.binds(t)["/etc/krakend/krakend.json"] != kjson {
		t.Error("the collector does not read KrakenD's krakend.json")
	}
	if !contains(o.Command, "--config=krakend:/etc/krakend/krakend.json") {
		t.Errorf("otelcol: command %q", o.Command)
	}
	if !o.containerPorts()["8080"] {
		t.Error("otelcol: KrakenD's port 8080 is published by the service whose network it shares")
	}
	for _, arg := range o.Command {
		if path, ok := strings.CutPrefix(arg, "--config="); ok && !strings.HasPrefix(path, "krakend:") {
			if o.binds(t)[path] == "" {
				t.Errorf("otelcol: %s is not mounted", path)
			}
		}
	}
}

// prometheus.yml parses, is the file Prometheus is told to read, and scrapes
// compose services on ports they publish.
func TestPrometheusConfig(t *testing.T) {
	c := loadCompose(t)
	p := c.Services["prometheus"]
	var file string
	for _, arg := range p.Command {
		if v, ok := strings.CutPrefix(arg, "--config.file="); ok {
			file = p.binds(t)[v]
		}
	}
	if file == "" {
		t.Fatal("prometheus: --config.file names no mounted file")
	}
	var cfg struct {
		Global struct {
			ScrapeInterval     string `json:"scrape_interval"`
			EvaluationInterval string `json:"evaluation_interval"`
		} `json:"global"`
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			HonorLabels   bool   `json:"honor_labels,omitempty"`
			MetricsPath   string `json:"metrics_path,omitempty"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	strictYAMLFile(t, file, &cfg)
	targets := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				targets[target] = true
				host, port, _ := strings.Cut(target, ":")
				s, ok := c.Services[host]
				if !ok {
					t.Errorf("job %s: target %s is no compose service", sc.JobName, target)
					continue
				}
				if !s.containerPorts()[port] {
					t.Errorf("job %s: %s does not publish port %s", sc.JobName, host, port)
				}
			}
		}
		// the exporter's job and instance labels are the gateway's service.name and service.instance.id
		if strings.Contains(strings.Join(sc.StaticConfigs[0].Targets, ","), ":9090") && !sc.HonorLabels {
			t.Errorf("job %s scrapes the gateway's metrics: honor_labels keeps the gateway's job and instance", sc.JobName)
		}
	}
	for _, want := range []string{"otelcol:9090", "otelcol:8888"} {
		if !targets[want] {
			t.Errorf("nothing scrapes %s", want)
		}
	}
}

// Grafana's provisioning parses: the data sources, the dashboard provider
// pointing where the dashboards are mounted.
func TestGrafanaProvisioning(t *testing.T) {
	c := loadCompose(t)
	g := c.Services["grafana"]
	binds := g.binds(t)
	prov := binds["/etc/grafana/provisioning"]
	if prov == "" {
		t.Fatal("grafana: provisioning is not mounted")
	}
	var ds struct {
		APIVersion  int `json:"apiVersion"`
		Datasources []struct {
			Name      string         `json:"name"`
			UID       string         `json:"uid"`
			Type      string         `json:"type"`
			Access    string         `json:"access"`
			URL       string         `json:"url"`
			IsDefault bool           `json:"isDefault,omitempty"`
			Editable  bool           `json:"editable"`
			JSONData  map[string]any `json:"jsonData,omitempty"`
		} `json:"datasources"`
	}
	strictYAMLFile(t, filepath.Join(prov, "datasources", "datasources.yaml"), &ds)
	types := map[string]string{}
	for _, d := range ds.Datasources {
		types[d.Type] = d.UID
		host := regexp.MustCompile(`^http://([^:/]+):(\d+)$`).FindStringSubmatch(d.URL)
		if host == nil {
			t.Errorf("data source %s: url %s", d.Name, d.URL)
			continue
		}
		if _, ok := c.Services[host[1]]; !ok {
			t.Errorf("data source %s: %s is no compose service", d.Name, host[1])
		}
	}
	if types["prometheus"] != "prometheus" || types["tempo"] != "tempo" {
		t.Errorf("data sources %v: want Prometheus (uid prometheus) and Tempo (uid tempo)", types)
	}
	var dp struct {
		APIVersion int `json:"apiVersion"`
		Providers  []struct {
			Name            string `json:"name"`
			OrgID           int    `json:"orgId"`
			Folder          string `json:"folder"`
			Type            string `json:"type"`
			DisableDeletion bool   `json:"disableDeletion"`
			AllowUIUpdates  bool   `json:"allowUiUpdates"`
			Options         struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}
	strictYAMLFile(t, filepath.Join(prov, "dashboards", "dashboards.yaml"), &dp)
	if len(dp.Providers) != 1 || binds[dp.Providers[0].Options.Path] == "" {
		t.Fatalf("dashboard providers %+v: want one, reading a mounted directory", dp.Providers)
	}
	dashboards, _ := filepath.Glob(filepath.Join(binds[dp.Providers[0].Options.Path], "*.json"))
	if len(dashboards) == 0 {
		t.Error("no dashboard JSON where the provider reads")
	}
}

// designFamilies are the metric families DESIGN.md section 3 says Prometheus
// must show (brace lists expanded).
func designFamilies(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(designPath)
	if err != nil {
		t.Fatalf("DESIGN.md is read from beside the repository (%s): %v", designPath, err)
	}
	text := string(raw)
	start := strings.Index(text, "\n## 3.")
	end := strings.Index(text, "\n## 4.")
	if start < 0 || end < start {
		t.Fatal("DESIGN.md: no section 3")
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z_{},]+)`").FindAllStringSubmatch(text[start:end], -1) {
		for _, name := range expandBraces(m[1]) {
			out[name] = true
		}
	}
	if !out["http_server_duration"] || !out["http_client_request_tls_duration"] {
		t.Fatalf("DESIGN.md section 3 no longer lists the families this test expects: %v", out)
	}
	return out
}

func expandBraces(s string) []string {
	open := strings.Index(s, "{")
	if open < 0 {
		return []string{s}
	}
	closing := strings.Index(s[open:], "}") + open
	var out []string
	for _, alt := range strings.Split(s[open+1:closing], ",") {
		out = append(out, expandBraces(s[:open]+alt+s[closing+1:])...)
	}
	return out
}

var (
	promBraces  = regexp.MustCompile(`\{[^}]*\}`)
	promRange   = regexp.MustCompile(`\[[^\]]*\]`)
	promGroup   = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent   = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promNumbers = regexp.MustCompile(`\b[0-9]+(\.[0-9]+)?\b`)
	promWords   = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true}
)

// promMetrics are the metric names a PromQL expression reads.
func promMetrics(expr string) []string {
	expr = promBraces.ReplaceAllString(expr, "")
	expr = promRange.ReplaceAllString(expr, "")
	expr = promGroup.ReplaceAllString(expr, "")
	expr = promNumbers.ReplaceAllString(expr, "")
	var out []string
	for _, m := range promIdent.FindAllString(expr, -1) {
		if strings.HasSuffix(m, "(") || promWords[m] {
			continue // a function or aggregation
		}
		out = append(out, m)
	}
	return out
}

func TestPromMetrics(t *testing.T) {
	got := promMetrics(`histogram_quantile(0.95, sum by (le, http_route) (rate(http_server_duration_bucket{job=~"$job",error="true"}[$__rate_interval]))) / sum without (x) (rate(krakend_proxy_duration_count[5m]))`)
	if strings.Join(got, ",") != "http_server_duration_bucket,krakend_proxy_duration_count" {
		t.Errorf("got %v", got)
	}
}

// familyOf is the family a series name belongs to, when DESIGN.md lists it.
func familyOf(families map[string]bool, name string) (string, bool) {
	if families[name] {
		return name, true
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && families[base] {
			return base, true
		}
	}
	return "", false
}

// The dashboard parses; every panel's PromQL reads families DESIGN.md
// section 3 lists, from the provisioned Prometheus; and it shows per layer
// request rate, errors and latency, and the backend connection timings.
func TestGrafanaDashboard(t *testing.T) {
	families := designFamilies(t)
	raw, err := os.ReadFile(filepath.Join(composeDir, "grafana", "dashboards", "otelcol-gateway.json"))
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
	}
	type panel struct {
		ID         int      `json:"id"`
		Type       string   `json:"type"`
		Title      string   `json:"title"`
		Targets    []target `json:"targets"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Panels []panel `json:"panels"`
	}
	var dash struct {
		UID        string  `json:"uid"`
		Title      string  `json:"title"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Error("dashboard: uid and title needed")
	}
	used := map[string]bool{}
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d twice", p.ID)
			}
			ids[p.ID] = true
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q: no query", p.Title)
			}
			if p.Datasource == nil || p.Datasource.UID != "prometheus" {
				t.Errorf("panel %q: data source is not the provisioned Prometheus", p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Datasource.UID != "prometheus" {
					t.Errorf("panel %q %s: data source %q", p.Title, tg.RefID, tg.Datasource.UID)
				}
				names := promMetrics(tg.Expr)
				if len(names) == 0 {
					t.Errorf("panel %q %s: %q reads no metric", p.Title, tg.RefID, tg.Expr)
				}
				for _, n := range names {
					fam, ok := familyOf(families, n)
					if !ok {
						t.Errorf("panel %q %s: %s is no family DESIGN.md section 3 lists", p.Title, tg.RefID, n)
					}
					used[fam] = true
					used[n] = true
				}
			}
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		for _, n := range promMetrics(strings.TrimSuffix(strings.TrimPrefix(v.Definition, "label_values("), ")")) {
			if _, ok := familyOf(families, n); !ok {
				t.Errorf("variable %s: %s is no family DESIGN.md section 3 lists", v.Name, n)
			}
		}
	}
	for _, want := range []string{
		"http_server_duration_bucket", "krakend_proxy_duration_bucket", "krakend_backend_duration_bucket", "http_client_duration_bucket",
		"http_server_duration_count", "krakend_proxy_duration_count", "krakend_backend_duration_count", "http_client_duration_count",
		"http_client_request_get_conn_duration_bucket", "http_client_request_dns_duration_bucket", "http_client_request_tls_duration_bucket",
	} {
		if !used[want] {
			t.Errorf("no panel reads %s", want)
		}
	}
}
