package translatecli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const fixtures = "../../../shared/fixtures/krakend-real"

func run(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestTranslatesARealKrakenDFile(t *testing.T) {
	code, out, errOut := run(filepath.Join(fixtures, "umkh-boilerplate-prometheus-skip-paths.json"))
	require.Equal(t, 0, code, errOut)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(out), &doc))
	for _, key := range []string{"receivers", "processors", "exporters", "service"} {
		assert.Contains(t, doc, key)
	}
	assert.Contains(t, out, "# from extra_config", "the YAML says where each part came from")
}

func TestWritesToAFileWithO(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "collector.yaml")
	code, out, errOut := run("-o", dst, filepath.Join(fixtures, "krakend-otel-example-front-3otlp.json"))
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, out)
	b, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Contains(t, string(b), "receivers:")
}

func TestARefusedFileSaysWhyOnTheFirstLine(t *testing.T) {
	code, out, errOut := run(filepath.Join(fixtures, "nais-template-trailing-comma.tmpl.json"))
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	first := strings.SplitN(errOut, "\n", 2)[0]
	assert.Contains(t, first, "nais-template-trailing-comma.tmpl.json")
}

func TestUsageErrors(t *testing.T) {
	code, _, errOut := run()
	assert.Equal(t, 2, code)
	assert.True(t, strings.HasPrefix(errOut, "translate: expected exactly one krakend.json argument"))
	// Help asked for goes to stdout (`translate --help | grep`), as the
	// collector's own --help does.
	for _, h := range []string{"-h", "--help"} {
		code, out, errOut := run(h)
		assert.Equal(t, 0, code)
		assert.Empty(t, errOut)
		for _, example := range []string{"otelcol-gateway translate -o collector.yaml krakend.json", "otelcol-gateway validate --config ", "otelcol-gateway components", "otelcol-gateway --config collector.yaml"} {
			assert.Contains(t, out, example, "the help shows an example of each command")
		}
		assert.Contains(t, out, renderCommand+" writes", "the help's render command works, as the README has it")
		assert.Contains(t, out, "-queue-dir", "with the flags")
	}
	// A usage error says why on stderr's first line, then the usage.
	code, out, errOut := run("--no-such-flag", "k.json")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.True(t, strings.HasPrefix(errOut, "flag provided but not defined: -no-such-flag"), errOut)
	assert.Contains(t, errOut, "Usage: otelcol-gateway translate")
	code, _, errOut = run("/nonexistent.json")
	assert.Equal(t, 1, code)
	assert.Contains(t, strings.SplitN(errOut, "\n", 2)[0], "/nonexistent.json")
}

// renderCommand renders a flexible configuration template: KrakenD renders
// one only with FC_ENABLE=1 (without it FC_OUT is ignored), and check
// renders it whatever its flags; -d, its debug, would only dump the parsed
// configuration to the terminal.
const renderCommand = "FC_ENABLE=1 FC_OUT=rendered.json krakend check -c krakend.tmpl"

func TestTheREADMEAndTheHelpRenderATemplateAlike(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	assert.Contains(t, string(readme), "`"+renderCommand+"` writes it")
}

func TestTheInputIsNeverOverwritten(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "krakend.json")
	src, err := os.ReadFile(filepath.Join(fixtures, "krakend-otel-example-front-3otlp.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(in, src, 0o600))
	for _, o := range []string{in, filepath.Join(dir, ".", "krakend.json")} {
		code, _, errOut := run("-o", o, in)
		assert.Equal(t, 2, code)
		assert.Contains(t, strings.SplitN(errOut, "\n", 2)[0], "would be overwritten")
		got, err := os.ReadFile(in)
		require.NoError(t, err)
		assert.Equal(t, src, got, "krakend.json is as it was")
	}
	code, _, errOut := run("-o", filepath.Join(dir, "collector.yaml"), in)
	assert.Equal(t, 0, code, errOut)
}

func TestADestinationIsAddedAndAnUnknownOneIsAUsageError(t *testing.T) {
	file := filepath.Join(fixtures, "krakend-otel-example-front-3otlp.json")
	code, out, errOut := run("--destination", "datadog", file)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "datadog/stats:")
	assert.Contains(t, errOut, "set DD_API_KEY:")

	code, out, errOut = run("--destination", "tempo", file)
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.True(t, strings.HasPrefix(errOut, `translate: --destination: unknown destination "tempo"`), errOut)
	assert.Contains(t, strings.SplitN(errOut, "\n", 2)[0], "config/overlays")

	// comma-separated like OTELCOL_GATEWAY_DESTINATIONS; named twice is once
	_, once, _ := run("--destination", "datadog", file)
	code, twice, errOut := run("--destination", "datadog,datadog", file)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, once, twice)
	code, _, errOut = run("--destination", "datadog,", file)
	assert.Equal(t, 2, code)
	assert.Contains(t, strings.SplitN(errOut, "\n", 2)[0], "empty name")
}

func TestSamplingAtTheGatewayAndAnUnknownPlaceIsAUsageError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "krakend.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"version": 3, "extra_config": {"telemetry/opentelemetry": {"trace_sample_rate": 0.1,
	  "exporters": {"otlp": [{"name": "tempo", "host": "tempo", "port": 4317}]}}}}`), 0o600))
	code, out, errOut := run(file)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "sampling_percentage: 10\n")
	assert.Contains(t, errOut, "--sampling gateway", "the warning says how to keep the callers' traces")

	code, out, errOut = run("--sampling", "gateway", file)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "sampling_percentage: 100\n")
	assert.Contains(t, out, "applied by the gateway (sampling: gateway)")
	assert.NotContains(t, errOut, "parent-based")

	code, out, errOut = run("--sampling", "edge", file)
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.True(t, strings.HasPrefix(errOut, `translate: --sampling: unknown sampling "edge"`), errOut)
}

// Flags may come after the file, as in most commands; after `--` everything
// is a file name, even one that starts with a dash.
func TestFlagsAfterTheFile(t *testing.T) {
	file := filepath.Join(fixtures, "krakend-otel-example-front-3otlp.json")
	t.Run("-o after the file writes the file", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "collector.yaml")
		code, out, errOut := run(file, "-o", dst)
		require.Equal(t, 0, code, errOut)
		assert.Empty(t, out)
		b, err := os.ReadFile(dst)
		require.NoError(t, err)
		assert.Contains(t, string(b), "receivers:")
	})
	t.Run("flags on both sides of the file", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "collector.yaml")
		code, _, errOut := run("--sampling", "gateway", file, "--collector-host=otel-collector", "-o", dst)
		require.Equal(t, 0, code, errOut)
		b, err := os.ReadFile(dst)
		require.NoError(t, err)
		assert.Contains(t, string(b), "receivers:")
	})
	t.Run("a flag after the file is still checked", func(t *testing.T) {
		code, _, errOut := run(file, "--sampling", "both")
		assert.Equal(t, 2, code)
		assert.Contains(t, strings.SplitN(errOut, "\n", 2)[0], "--sampling")
	})
	t.Run("after -- a dash is a file name", func(t *testing.T) {
		code, _, errOut := run("--", "-o")
		assert.Equal(t, 1, code, "a file that does not exist, not a usage error: %s", errOut)
		assert.Contains(t, strings.SplitN(errOut, "\n", 2)[0], "-o")
	})
	t.Run("-- as the value of -o is a file name for -o", func(t *testing.T) {
		abs, err := filepath.Abs(file)
		require.NoError(t, err)
		dir := t.TempDir()
		t.Chdir(dir)
		code, _, errOut := run("-o", "--", abs)
		require.Equal(t, 0, code, errOut)
		_, err = os.Stat(filepath.Join(dir, "--"))
		assert.NoError(t, err)
	})
	t.Run("two files are a usage error", func(t *testing.T) {
		code, _, errOut := run(file, "-o", filepath.Join(t.TempDir(), "c.yaml"), file)
		assert.Equal(t, 2, code)
		assert.True(t, strings.HasPrefix(errOut, "translate: expected exactly one krakend.json argument"), errOut)
	})
	t.Run("a flag after -- is a second file", func(t *testing.T) {
		code, _, _ := run(file, "--", "-o", "x.yaml")
		assert.Equal(t, 2, code)
	})
}

// A file that cannot be written is the failure: its reason is the first line
// of stderr, before the translation's warnings, as for any other failure.
func TestAnOutputThatCannotBeWrittenSaysWhyOnTheFirstLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "krakend.json")
	// trace_sample_rate without sampling gateway: a translation with a warning
	require.NoError(t, os.WriteFile(file, []byte(`{"version": 3, "extra_config": {"telemetry/opentelemetry": {"trace_sample_rate": 0.1,
	  "exporters": {"otlp": [{"name": "tempo", "host": "tempo", "port": 4317}]}}}}`), 0o600))
	dst := filepath.Join(dir, "missing", "collector.yaml")
	code, out, errOut := run("-o", dst, file)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	first := strings.SplitN(errOut, "\n", 2)[0]
	assert.True(t, strings.HasPrefix(first, "translate: "), "first line: %q", first)
	assert.Contains(t, first, dst)
	assert.Contains(t, errOut, "warning: ", "the warnings are still shown")
}

// The binary's command line: translate's flags may come before the word
// `translate`, as cobra takes a command's flags before its name (`--config x
// validate`), and help of translate is translate's usage however it is asked
// for; the collector's flags before it are refused on one line that says the
// order, and command lines of other commands are not translate's.
func TestDispatchFindsTranslateInTheBinarysCommandLine(t *testing.T) {
	src := filepath.Join(fixtures, "krakend-otel-example-front-3otlp.json")
	dst := filepath.Join(t.TempDir(), "collector.yaml")
	dispatch := func(args ...string) (int, bool, string, string) {
		var stdout, stderr bytes.Buffer
		code, ok := Dispatch(args, strings.NewReader(""), &stdout, &stderr)
		return code, ok, stdout.String(), stderr.String()
	}

	code, ok, out, errOut := dispatch("-o", dst, "translate", src)
	require.True(t, ok)
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, out)
	b, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Contains(t, string(b), "receivers:", "-o before translate writes the file")

	code, ok, out, errOut = dispatch("--sampling=gateway", "--collector-host", "otel", "translate", src)
	require.True(t, ok)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "sampling_percentage: 100", "--sampling before translate is applied")

	for _, help := range [][]string{{"translate", "-help"}, {"translate", "--help"}, {"-help", "translate"}, {"--help", "translate"}, {"-h", "translate"}, {"help", "translate"}} {
		code, ok, out, errOut = dispatch(help...)
		assert.True(t, ok, "%q", help)
		assert.Equal(t, 0, code, "%q: %s", help, errOut)
		assert.True(t, strings.HasPrefix(out, "Usage: otelcol-gateway translate"), "%q: %s", help, out)
	}

	for _, args := range [][]string{{"--config", "c.yaml", "translate", src}, {"--feature-gates=x", "translate", src}, {"-v", "translate", src}} {
		code, ok, out, errOut = dispatch(args...)
		assert.True(t, ok, "%q", args)
		assert.Equal(t, 2, code, "%q", args)
		assert.Empty(t, out)
		first := strings.SplitN(errOut, "\n", 2)[0]
		assert.Contains(t, first, "is not a flag of translate", "%q", args)
		assert.Contains(t, first, "otelcol-gateway translate [flags] krakend.json", "%q: the line says the order", args)
	}

	for _, args := range [][]string{{}, {"--config", "translate"}, {"validate", "--config", "k.yaml"}, {"--config=krakend:k.json"}, {"--set", "a=b"}, {"components"}, {"help"}, {"--help"}, {"--", "translate"}} {
		_, ok, _, _ = dispatch(args...)
		assert.False(t, ok, "%q is not translate's command line", args)
	}
}

// `-` reads krakend.json from stdin, as Unix tools do
// (`krakend ... | otelcol-gateway translate -`); its messages name stdin.
func TestADashReadsStdin(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(fixtures, "krakend-otel-example-front-3otlp.json"))
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	code := Run([]string{"-"}, bytes.NewReader(src), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), "receivers:")

	stdout.Reset()
	stderr.Reset()
	code = Run([]string{"-"}, strings.NewReader("{\"version\": 3,\n"), &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout.String())
	assert.True(t, strings.HasPrefix(stderr.String(), "stdin:2:1: invalid JSON"), stderr.String())
}
