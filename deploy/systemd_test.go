package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// unitDirectives are the directives the unit may use, per section: a
// misspelt one (which systemd only warns about, and ignores) fails here.
var unitDirectives = map[string]map[string]bool{
	"Unit": set("Description", "Documentation", "Wants", "After", "Requires", "PartOf"),
	"Service": set("Type", "EnvironmentFile", "Environment", "ExecStartPre", "ExecStart", "Restart", "RestartSec",
		"KillSignal", "TimeoutStopSec", "LimitNOFILE", "StateDirectory", "StateDirectoryMode", "WorkingDirectory",
		"DynamicUser", "NoNewPrivileges", "CapabilityBoundingSet", "AmbientCapabilities", "ProtectSystem", "ProtectHome",
		"PrivateTmp", "PrivateDevices", "PrivateUsers", "ProtectHostname", "ProtectClock", "ProtectKernelTunables",
		"ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectProc", "RestrictAddressFamilies",
		"RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute",
		"RemoveIPC", "SystemCallArchitectures", "SystemCallFilter", "SystemCallErrorNumber", "UMask"),
	"Install": set("WantedBy"),
}

func set(items ...string) map[string]bool {
	m := map[string]bool{}
	for _, i := range items {
		m[i] = true
	}
	return m
}

func parseUnit(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			if unitDirectives[section] == nil {
				t.Errorf("%s:%d: unknown section [%s]", path, n, section)
			}
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || !unitDirectives[section][key] {
				t.Errorf("%s:%d: %q is not a directive of [%s] this unit expects", path, n, key, section)
			}
			out[key] = append(out[key], value)
		}
	}
	return out
}

// The unit runs the binary on /etc/krakend/krakend.json with optional
// overlays, hardened.
func TestSystemdUnit(t *testing.T) {
	u := parseUnit(t, filepath.Join("systemd", "otelcol-gateway.service"))
	const cmd = "/usr/local/bin/otelcol-gateway --config=krakend:/etc/krakend/krakend.json $OTELCOL_GATEWAY_OPTIONS"
	if got := u["ExecStart"]; len(got) != 1 || got[0] != cmd {
		t.Errorf("ExecStart %q, want %q", got, cmd)
	}
	if got := u["ExecStartPre"]; len(got) != 1 || got[0] != strings.Replace(cmd, "otelcol-gateway ", "otelcol-gateway validate ", 1) {
		t.Errorf("ExecStartPre %q: want the same configuration validated", got)
	}
	for key, want := range map[string]string{
		"DynamicUser": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "NoNewPrivileges": "yes",
		"PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes",
		"MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native", "EnvironmentFile": "-/etc/otelcol-gateway/otelcol-gateway.env",
		"StateDirectory": "otelcol-gateway", "WantedBy": "multi-user.target",
	} {
		if got := u[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	env, err := os.ReadFile(filepath.Join("systemd", "otelcol-gateway.env"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env), "\nOTELCOL_GATEWAY_OPTIONS=") {
		t.Error("otelcol-gateway.env does not set OTELCOL_GATEWAY_OPTIONS")
	}
}

// Every documented command that installs the environment file (it holds
// DD_API_KEY and the like) makes it mode 0600, in a directory that exists.
func TestSystemdEnvFileInstallCommands(t *testing.T) {
	found := 0
	for _, path := range []string{"README.md", filepath.Join("systemd", "otelcol-gateway.service")} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(raw), "\n") {
			_, cmd, ok := strings.Cut(line, "install ")
			if !ok || !strings.Contains(cmd, "otelcol-gateway.env") {
				continue
			}
			found++
			if !strings.Contains(cmd, "-m 0600") {
				t.Errorf("%s:%d: %q: the environment file holds secrets: install it with -m 0600", path, n+1, strings.TrimSpace(line))
			}
			if !strings.Contains(cmd, "-D ") && !strings.Contains(line, "install -d /etc/otelcol-gateway") {
				t.Errorf("%s:%d: %q: /etc/otelcol-gateway may not exist yet: create it (install -d, or install -D)", path, n+1, strings.TrimSpace(line))
			}
		}
	}
	if found < 2 {
		t.Errorf("found %d commands installing otelcol-gateway.env, want the README's and the unit's", found)
	}
}

// What deploy/README.md says the shipped environment file sets, it sets
// (uncommented): a user who follows the README gets that configuration.
func TestSystemdReadmeMatchesEnvFile(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(filepath.Join("systemd", "otelcol-gateway.env"))
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]string{}
	for _, line := range strings.Split(string(env), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			set[k] = v
		}
	}
	text := strings.Join(strings.Fields(string(readme)), " ")
	for _, m := range regexp.MustCompile("`otelcol-gateway.env` sets `([A-Z_]+)=([^`]*)`").FindAllStringSubmatch(text, -1) {
		if got, ok := set[m[1]]; !ok || got != m[2] {
			t.Errorf("README.md: %q, but the shipped otelcol-gateway.env sets %s=%q", m[0], m[1], got)
		}
	}
}
