package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string
	args string
	line int
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		cont := strings.HasSuffix(line, `\`)
		cur.WriteString(strings.TrimSuffix(line, `\`))
		cur.WriteString(" ")
		if cont {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dockerignored reports whether .dockerignore's patterns exclude path (a
// slash-separated path relative to the build context). The file uses plain
// patterns only: no `!` exceptions.
func dockerignored(patterns []string, path string) bool {
	parts := strings.Split(path, "/")
	for _, p := range patterns {
		p = strings.TrimPrefix(p, "/")
		anyDepth := strings.HasPrefix(p, "**/")
		p = strings.TrimPrefix(p, "**/")
		for i := range parts {
			for j := i + 1; j <= len(parts); j++ {
				if i > 0 && !anyDepth {
					break
				}
				if ok, _ := filepath.Match(p, strings.Join(parts[i:j], "/")); ok {
					return true
				}
			}
		}
	}
	return false
}

func readDockerignore(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf(".dockerignore: exceptions (%s) are beyond this test's matcher", l)
		}
		patterns = append(patterns, l)
	}
	return patterns
}

func TestDockerignoreMatcher(t *testing.T) {
	patterns := []string{".git", "cmd/otelcol-gateway/otelcol-gateway", "deploy/compose", "**/*.test"}
	for path, want := range map[string]bool{
		".git/HEAD":                           true,
		"cmd/otelcol-gateway/otelcol-gateway": true,
		"cmd/otelcol-gateway/main.go":         false,
		"deploy/compose/krakend/krakend.json": true,
		"deploy/healthcheck/main.go":          false,
		"receiver/x/x.test":                   true,
		"receiver/x/x.go":                     false,
	} {
		if got := dockerignored(patterns, path); got != want {
			t.Errorf("%s: ignored %v, want %v", path, got, want)
		}
	}
}

// The Dockerfile builds with `make build` (the target CI tests), copies the
// binary from where builder-config.yaml puts it, and runs it as non-root with
// the ports, a health check and the binary as entry point.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	ignore := readDockerignore(t)

	// builder-config.yaml: where ocb writes the binary, and under which name
	var bc struct {
		Dist struct {
			Name       string `json:"name"`
			OutputPath string `json:"output_path"`
			CGoEnabled bool   `json:"cgo_enabled"`
		} `json:"dist"`
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yamlLenient(raw, &bc); err != nil {
		t.Fatal(err)
	}
	binPath := filepath.ToSlash(filepath.Join(bc.Dist.OutputPath, bc.Dist.Name))
	if bc.Dist.CGoEnabled {
		t.Error("builder-config.yaml enables cgo: the runtime image (distroless/static) has no libc")
	}

	makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^build:`).Match(makefile) {
		t.Error("the Makefile has no build target")
	}
	if m := regexp.MustCompile(`(?m)^BIN := (.*)$`).FindSubmatch(makefile); m == nil {
		t.Error("the Makefile defines no BIN")
	} else if bin := strings.ReplaceAll(string(m[1]), "$(DIST_DIR)", bc.Dist.OutputPath); filepath.Clean(bin) != filepath.Clean(binPath) {
		t.Errorf("the Makefile builds %s, builder-config.yaml says %s", bin, binPath)
	}

	var stages []string
	var runtime []instruction
	built := map[string]bool{} // what the build stage's RUNs leave where a later COPY --from reads it
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			f := strings.Fields(in.args)
			stages = append(stages, f[len(f)-1])
			if len(stages) == 1 && !strings.HasPrefix(f[0], "golang:") {
				t.Errorf("line %d: the build stage must start from the golang image, not %s", in.line, f[0])
			}
			if len(stages) == 2 {
				runtime = nil
				if f[0] != "gcr.io/distroless/static-debian12:nonroot" {
					t.Errorf("line %d: runtime base %s", in.line, f[0])
				}
			}
		case "RUN":
			if len(stages) == 1 {
				// a cache mount helps only where the go command reads and
				// writes: in the golang image GOPATH is /go (GOMODCACHE
				// /go/pkg/mod) and HOME is /root (GOCACHE /root/.cache/go-build)
				for _, m := range regexp.MustCompile(`--mount=type=cache,target=(\S+)`).FindAllStringSubmatch(in.args, -1) {
					if m[1] != "/go/pkg/mod" && m[1] != "/root/.cache/go-build" {
						t.Errorf("line %d: cache mount at %s: the golang image's module cache is /go/pkg/mod and its build cache /root/.cache/go-build", in.line, m[1])
					}
				}
				if strings.Contains(in.args, "make build") {
					built[binPath] = true
					if m := regexp.MustCompile(`cp (\S+) (\S+)`).FindStringSubmatch(in.args); m != nil {
						if filepath.Clean(m[1]) != filepath.Clean(binPath) {
							t.Errorf("line %d: copies %s, but make build writes %s", in.line, m[1], binPath)
						}
						built[m[2]] = true
					}
				}
				if m := regexp.MustCompile(`cd (\S+) && go build .*-o (\S+)`).FindStringSubmatch(in.args); m != nil {
					mustExist(t, filepath.Join(repoRoot, m[1], "go.mod"), "the health check's module")
					if dockerignored(ignore, m[1]+"/main.go") {
						t.Errorf("line %d: .dockerignore excludes %s", in.line, m[1])
					}
					built[m[2]] = true
				}
			}
		}
		if len(stages) == 2 {
			runtime = append(runtime, in)
		}
		if in.cmd != "COPY" {
			continue
		}
		fields := strings.Fields(in.args)
		var from string
		var srcs []string
		for _, f := range fields[:len(fields)-1] {
			if v, ok := strings.CutPrefix(f, "--from="); ok {
				from = v
			} else if !strings.HasPrefix(f, "--") {
				srcs = append(srcs, f)
			}
		}
		for _, src := range srcs {
			if from != "" {
				if from != stages[0] || !built[src] {
					t.Errorf("line %d: COPY --from=%s %s: the build stage does not produce it", in.line, from, src)
				}
				continue
			}
			if src == "." {
				continue
			}
			matches, _ := filepath.Glob(filepath.Join(repoRoot, src))
			if len(matches) == 0 {
				t.Errorf("line %d: COPY %s: no such file in the build context", in.line, src)
			}
			for _, m := range matches {
				if dockerignored(ignore, filepath.ToSlash(rel(m))) {
					t.Errorf("line %d: COPY %s: .dockerignore excludes it", in.line, src)
				}
			}
		}
	}
	if len(stages) != 2 || stages[0] != "build" {
		t.Fatalf("stages %v: want a build stage named build and a runtime stage", stages)
	}
	if !built[binPath] {
		t.Error("no RUN of the build stage runs make build")
	}

	// what make build needs must reach the build context
	for _, need := range []string{"Makefile", "builder-config.yaml", "go.mod", "go.sum",
		"cmd/otelcol-gateway/go.mod", "cmd/otelcol-gateway/go.sum", "cmd/otelcol-gateway/gateway.go",
		"config/defaultconfig/default.yaml", "receiver", "processor", "internal", "config/translate"} {
		mustExist(t, filepath.Join(repoRoot, need), "make build needs it")
		if dockerignored(ignore, need) {
			t.Errorf(".dockerignore excludes %s, which make build needs", need)
		}
	}

	// the runtime stage
	var entry, user, health string
	exposed := map[string]bool{}
	for _, in := range runtime {
		switch in.cmd {
		case "ENTRYPOINT":
			entry = in.args
		case "USER":
			user = in.args
		case "HEALTHCHECK":
			health = in.args
		case "EXPOSE":
			for _, p := range strings.Fields(in.args) {
				exposed[p] = true
			}
		}
	}
	if !regexp.MustCompile(`^[1-9][0-9]*(:[0-9]+)?$`).MatchString(user) {
		t.Errorf("USER %q: want a numeric non-root user (Kubernetes' runAsNonRoot checks it)", user)
	}
	for _, p := range []string{"4317", "4318", "9090", "8888", "13133"} {
		if !exposed[p] {
			t.Errorf("port %s is not exposed", p)
		}
	}
	if entry != `["/otelcol-gateway"]` || !built["/otelcol-gateway"] {
		t.Errorf("ENTRYPOINT %s: want the binary the build stage copies to /otelcol-gateway", entry)
	}
	if !strings.Contains(health, `CMD ["/healthcheck", "http://127.0.0.1:13133/"]`) || !built["/healthcheck"] {
		t.Errorf("HEALTHCHECK %q: want the built /healthcheck asking the health_check extension on 13133", health)
	}
}
