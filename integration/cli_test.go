package integration

import (
	"bytes"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCLI runs the binary to completion and returns its exit code, stdout
// and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	require.NoError(t, err)
	return 0, stdout.String(), stderr.String()
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

func TestTheHelpShowsAnExampleOfEachCommand(t *testing.T) {
	examples := []string{
		"otelcol-gateway translate -o collector.yaml krakend.json",
		"otelcol-gateway validate --config ",
		"otelcol-gateway components",
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"help"}, {"translate", "--help"}, {"translate", "-h"}, {"translate", "-help"}, {"-help", "translate"}, {"help", "translate"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, args...)
			assert.Equal(t, 0, code, stderr)
			for _, ex := range examples {
				assert.Contains(t, stdout, ex, "help asked for is on stdout")
			}
		})
	}
	code, stdout, _ := runCLI(t, "--help")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "translate", "the root help names otelcol-gateway's own command")
	code, stdout, _ = runCLI(t, "validate", "--help")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "otelcol-gateway validate --config krakend:")
	for _, h := range []string{"-h", "--help", "-help"} {
		code, stdout, stderr := runCLI(t, "help", h)
		assert.Equal(t, 0, code, "help %s: %s", h, stderr)
		assert.Contains(t, stdout, "otelcol-gateway help [path to command]", "help %s is help's own help", h)
	}
}

func TestCommandsThatWorkExitZero(t *testing.T) {
	code, stdout, stderr := runCLI(t, "components")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "name: loadbalancing")
	code, _, stderr = runCLI(t, "validate")
	assert.Equal(t, 0, code, "validate with no --config checks the embedded default: %s", stderr)
	abs, err := filepath.Abs(sidecarKrakendJSON)
	require.NoError(t, err)
	code, _, stderr = runCLI(t, "validate", "--config", "krakend:"+abs)
	assert.Equal(t, 0, code, stderr)
	code, stdout, stderr = runCLI(t, "translate", abs)
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "receivers:")
}

// TestCommandsThatFailSayWhyOnTheFirstLine: a non-zero exit and a one-line
// reason on the first line of stderr, for each way a command fails.
func TestCommandsThatFailSayWhyOnTheFirstLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	badYAML := write("bad.yaml", "receivers:\n  nope: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [nope]\n      exporters: [debug]\nexporters:\n  debug: {}\n")
	badKrakend := write("bad-krakend.json", `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"trace_sample_rat": 0.5}}}`)
	invalidJSON := write("invalid.json", "{\"version\": 3,\n")
	tests := []struct {
		name string
		args []string
		want []string // all on the first line of stderr
	}{
		{"validate refuses an unknown component", []string{"validate", "--config", badYAML}, []string{"Error:", `unknown type: "nope"`}},
		{"validate refuses a missing file", []string{"validate", "--config", filepath.Join(dir, "missing.yaml")}, []string{"Error:", "missing.yaml"}},
		{"validate refuses a misspelt krakend.json field", []string{"validate", "--config", "krakend:" + badKrakend}, []string{"Error:", "trace_sample_rat", "trace_sample_rate"}},
		{"translate refuses a missing file", []string{"translate", filepath.Join(dir, "missing.json")}, []string{"missing.json", "no such file"}},
		{"translate refuses invalid JSON", []string{"translate", invalidJSON}, []string{"invalid.json", "invalid JSON"}},
		{"translate needs a file", []string{"translate"}, []string{"expected exactly one krakend.json argument"}},
		{"an unknown subcommand is refused", []string{"bogus"}, []string{"Error:", `unknown command "bogus"`}},
		{"help on an unknown topic is refused", []string{"help", "nope"}, []string{"Error:", `unknown help topic "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			assert.NotEqual(t, 0, code)
			assert.Empty(t, stdout)
			first := firstLine(stderr)
			for _, w := range tt.want {
				assert.Contains(t, first, w, "first line of stderr:\n%s", stderr)
			}
		})
	}
}

// The azuremonitor exporter reads its connection string only when it
// starts, which validate never does: validate refuses the overlay with the
// variable unset, names it, and prints no value.
func TestValidateNamesAnUnsetAzureConnectionString(t *testing.T) {
	const env = "APPLICATIONINSIGHTS_CONNECTION_STRING"
	t.Setenv(env, "") // restored afterwards
	require.NoError(t, os.Unsetenv(env))
	krakendJSON, err := filepath.Abs(sidecarKrakendJSON)
	require.NoError(t, err)
	overlay, err := filepath.Abs("../config/overlays/azuremonitor.yaml")
	require.NoError(t, err)
	code, stdout, stderr := runCLI(t, "validate", "--config", "krakend:"+krakendJSON, "--config", overlay)
	assert.NotEqual(t, 0, code)
	assert.Empty(t, stdout)
	assert.Contains(t, firstLine(stderr), "Error: "+env+" is not set: the azuremonitor exporter needs the connection string (exporters::azuremonitor::connection_string)", stderr)

	t.Setenv(env, "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:1/")
	code, _, stderr = runCLI(t, "validate", "--config", "krakend:"+krakendJSON, "--config", overlay)
	assert.Equal(t, 0, code, stderr)
}

// TestTheCLIBuildsTheGeneratedMainsCollector: gateway.go's subcommands build
// the collector from a copy of the generated main's settings; the copy must
// stay statement for statement what ocb generates (after `make generate`,
// this fails until gateway.go is updated too).
func TestTheCLIBuildsTheGeneratedMainsCollector(t *testing.T) {
	generated := settingsStatements(t, "../cmd/otelcol-gateway/main.go", "main")
	ours := settingsStatements(t, "../cmd/otelcol-gateway/gateway.go", "gatewaySettings")
	require.Len(t, generated, 2, "main() declares info and set")
	assert.Equal(t, generated, ours)
}

// settingsStatements prints the `info := ...` and `set := ...` statements
// of function fn in file.
func settingsStatements(t *testing.T, file, fn string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	require.NoError(t, err)
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != fn {
			continue
		}
		for _, st := range fd.Body.List {
			as, ok := st.(*ast.AssignStmt)
			if !ok || len(as.Lhs) != 1 {
				continue
			}
			if id, ok := as.Lhs[0].(*ast.Ident); ok && (id.Name == "info" || id.Name == "set") {
				var b bytes.Buffer
				require.NoError(t, printer.Fprint(&b, token.NewFileSet(), as))
				out = append(out, b.String())
			}
		}
	}
	return out
}
