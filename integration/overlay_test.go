package integration

import (
	"bytes"
	"context"
	"fmt"
	"go.yaml.in/yaml/v3"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the otlp exporter compresses with gzip

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// A gateway that sends traces and metrics to this collector and names no
// destination: overlays add them.
const sidecarKrakendJSON = "testdata/krakend-to-collector.json"

func TestEveryOverlayValidatesOnATranslatedKrakenDFile(t *testing.T) {
	overlays, err := filepath.Glob("../config/overlays/*.yaml")
	require.NoError(t, err)
	require.Len(t, overlays, 4)
	for _, overlay := range overlays {
		t.Run(filepath.Base(overlay), func(t *testing.T) {
			code, _, stderr := runBinaryEnv(t, []string{"AWS_REGION=eu-west-1", "APPLICATIONINSIGHTS_CONNECTION_STRING=InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:1/"},
				"validate", "--config", "krakend:"+sidecarKrakendJSON, "--config", overlay)
			assert.Equal(t, 0, code, stderr)
		})
	}
}

// An overlay merges into the translation: it may add exporters to the
// translated pipelines, never take their processors away (a processors list
// in an overlay would replace the translated one, layerfilter and sampling
// included). Checked on the configuration the collector would run, with a
// krakend.json that samples (one traces pipeline that counts, then samples)
// and one that does not.
func TestNoOverlayTakesTheTranslatedProcessorsAway(t *testing.T) {
	overlays, err := filepath.Glob("../config/overlays/*.yaml")
	require.NoError(t, err)
	sampled := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(sampled, []byte(`{"version": 3, "extra_config": {"telemetry/opentelemetry": {
  "trace_sample_rate": 0.5,
  "exporters": {"otlp": [{"name": "collector", "host": "localhost", "port": 4317}], "prometheus": [{"name": "p", "port": 9090}]}}}}`), 0o600))
	for _, src := range []string{sidecarKrakendJSON, sampled} {
		want := printedPipelines(t, src, "")
		require.NotEmpty(t, want["traces"], "the translation has a traces pipeline")
		for _, overlay := range overlays {
			t.Run(filepath.Base(src)+"+"+filepath.Base(overlay), func(t *testing.T) {
				got := printedPipelines(t, src, overlay)
				for name, procs := range want {
					assert.Equal(t, procs, got[name], "pipeline %s keeps the translated processors", name)
				}
			})
		}
	}
}

// printedConfig runs print-config on krakend.json (plus an overlay) and
// returns the configuration the collector would run.
func printedConfig(t *testing.T, krakendJSON, overlay string) []byte {
	t.Helper()
	args := []string{"print-config", "--feature-gates=otelcol.printInitialConfig", "--config", "krakend:" + krakendJSON}
	if overlay != "" {
		args = append(args, "--config", overlay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(append(os.Environ(), secretEnv...), "AWS_REGION=eu-west-1",
		"APPLICATIONINSIGHTS_CONNECTION_STRING=InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:1/")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	return stdout.Bytes()
}

// printedPipelines returns each pipeline's processors in printedConfig.
func printedPipelines(t *testing.T, krakendJSON, overlay string) map[string][]string {
	t.Helper()
	printed := printedConfig(t, krakendJSON, overlay)
	var doc struct {
		Service struct {
			Pipelines map[string]struct {
				Processors []string `yaml:"processors"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	require.NoError(t, yaml.Unmarshal(printed, &doc), string(printed))
	out := map[string][]string{}
	for name, p := range doc.Service.Pipelines {
		out[name] = p.Processors
	}
	return out
}

func runBinaryEnv(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(append(os.Environ(), secretEnv...), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, "", string(out)
}

// otlpSink is a stand-in for Tempo: an OTLP/gRPC trace server that keeps
// what it receives.
type otlpSink struct {
	ptraceotlp.UnimplementedGRPCServer
	mu     sync.Mutex
	traces []ptrace.Traces
}

func (s *otlpSink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	td := ptrace.NewTraces()
	req.Traces().CopyTo(td)
	s.mu.Lock()
	s.traces = append(s.traces, td)
	s.mu.Unlock()
	return ptraceotlp.NewExportResponse(), nil
}

func (s *otlpSink) spans() []ptrace.Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ptrace.Span
	for _, td := range s.traces {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			sss := td.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				for k := 0; k < sss.At(j).Spans().Len(); k++ {
					out = append(out, sss.At(j).Spans().At(k))
				}
			}
		}
	}
	return out
}

func startOTLPSink(t *testing.T) (*otlpSink, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	sink := &otlpSink{}
	ptraceotlp.RegisterGRPCServer(srv, sink)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return sink, ln.Addr().String()
}

// TestTheTempoOverlayAddsADestination runs the collector on a gateway's
// krakend.json plus the Tempo overlay: the overlay's exporter is added to the
// translated traces pipeline, and a stand-in Tempo receives every span.
func TestTheTempoOverlayAddsADestination(t *testing.T) {
	requirePortsFree(t, 4317, 4318, 13133, 8888)
	sink, sinkAddr := startOTLPSink(t)
	t.Setenv("TEMPO_ENDPOINT", sinkAddr)
	startCollector(t, "--config", "krakend:"+sidecarKrakendJSON, "--config", "../config/overlays/tempo.yaml")
	waitHTTP(t, "http://127.0.0.1:13133/", http.StatusOK)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := dialGRPC(t, "127.0.0.1:4317")
	for n := uint64(1); n <= 3; n++ {
		_, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(gatewayTraces("sidecar", n)))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(sink.spans()) >= 15 }, 30*time.Second, 100*time.Millisecond,
		"Tempo receives the 15 spans of 3 requests")
	perClass := map[layer.Class]int{}
	for _, s := range sink.spans() {
		perClass[layer.ClassifySpan(s)]++
	}
	assert.Equal(t, map[layer.Class]int{layer.GlobalStage: 3, layer.ProxyStage: 3, layer.BackendStage: 3,
		layer.BackendRoundTrip: 3, layer.BackendReadPayload: 3}, perClass, fmt.Sprint("spans per layer at Tempo"))
}

// A trace exporter that batches in its sending_queue declares that it
// changes its input, so the collector copies, for it alone, every span the
// sampler keeps. The Tempo and Azure overlays' exporters join the sampled
// pipeline beside the translation's read-only ones: they must not batch
// there (Azure's exporter batches envelopes itself). Datadog's exporter
// keeps its queue batching: it serves the metrics pipelines too.
func TestTraceOverlaysDoNotMakeTheCollectorCopyTheKeptSpans(t *testing.T) {
	for overlay, exporter := range map[string]string{"tempo.yaml": "otlp_grpc/tempo", "azuremonitor.yaml": "azuremonitor"} {
		t.Run(overlay, func(t *testing.T) {
			printed := printedConfig(t, sidecarKrakendJSON, filepath.Join("../config/overlays", overlay))
			var doc struct {
				Exporters map[string]map[string]any `yaml:"exporters"`
				Service   struct {
					Pipelines map[string]struct {
						Exporters []string `yaml:"exporters"`
					} `yaml:"pipelines"`
				} `yaml:"service"`
			}
			require.NoError(t, yaml.Unmarshal(printed, &doc), string(printed))
			require.Contains(t, doc.Service.Pipelines["traces"].Exporters, exporter, "the overlay adds its exporter to the sampled pipeline")
			queue, ok := doc.Exporters[exporter]["sending_queue"].(map[string]any)
			require.True(t, ok, "%s keeps a sending_queue", exporter)
			assert.Equal(t, 4, queue["num_consumers"], "%s keeps the overlay's queue", exporter)
			assert.Nil(t, queue["batch"], "%s must not batch in its queue after a copying sampler", exporter)
		})
	}
}
