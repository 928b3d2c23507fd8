package integration

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gateway/otelcol-gateway/cmd/gatewaysim/sim"
	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"
)

// The gateway tier's shipped configurations: the test runs these files, with
// only their listen addresses and the agent's resolver changed.
const (
	tierAgentYAML   = "../deploy/kubernetes/overlays/gateway-tier/agent.yaml"
	tierReplicaYAML = "../deploy/kubernetes/overlays/gateway-tier/tier.yaml"
)

// TestTheGatewayTierRoutesWholeTracesAndSamplesLikeOneCollector runs the
// gateway-tier overlay on loopback: one agent (agent.yaml, its DNS resolver
// swapped for a static list of the two replicas) in front of two replicas
// (tier.yaml), each exporting to its own stand-in Tempo. The simulator's
// traces go through the agent. Each replica also gets a test-only pipeline
// without the sampler, to a second sink, so one run shows both what the
// loadbalancing exporter delivers and what the shipped sampler keeps.
func TestTheGatewayTierRoutesWholeTracesAndSamplesLikeOneCollector(t *testing.T) {
	type replica struct {
		otlp    string // where the agent sends
		prom    string // the replica's Prometheus exporter
		sampled *otlpSink
		all     *otlpSink
	}
	replicas := make([]*replica, 2)
	var collectors []*collector
	for i := range replicas {
		sampled, sampledAddr := startOTLPSink(t)
		all, allAddr := startOTLPSink(t)
		r := &replica{otlp: freeAddr(t), prom: freeAddr(t), sampled: sampled, all: all}
		health := freeAddr(t)
		cfg := loadYAML(t, tierReplicaYAML)
		setYAML(t, cfg, r.otlp, "receivers", "gateway", "protocols", "grpc", "endpoint")
		setYAML(t, cfg, health, "extensions", "health_check", "endpoint")
		setYAML(t, cfg, r.prom, "exporters", "prometheus", "endpoint")
		setSelfMetrics(t, cfg, freePort(t))
		// test-only: every span the replica receives, before the sampler
		exporters := getYAML(t, cfg, "exporters").(map[string]any)
		exporters["otlp_grpc/all"] = map[string]any{"endpoint": allAddr, "tls": map[string]any{"insecure": true}}
		pipelines := getYAML(t, cfg, "service", "pipelines").(map[string]any)
		pipelines["traces/all"] = map[string]any{
			"receivers": []any{"gateway"}, "exporters": []any{"otlp_grpc/all"},
		}
		// the shipped traces pipeline exports to Tempo at ${env:TEMPO_ENDPOINT}
		t.Setenv("TEMPO_ENDPOINT", sampledAddr)
		collectors = append(collectors, startCollector(t, "--config", writeYAML(t, fmt.Sprintf("tier-%d.yaml", i), cfg)))
		waitHTTP(t, "http://"+health+"/", http.StatusOK)
		replicas[i] = r
	}

	agentOTLP, agentHealth := freeAddr(t), freeAddr(t)
	agent := loadYAML(t, tierAgentYAML)
	setYAML(t, agent, agentOTLP, "receivers", "gateway", "protocols", "grpc", "endpoint")
	setYAML(t, agent, freeAddr(t), "receivers", "gateway", "protocols", "http", "endpoint")
	setYAML(t, agent, agentHealth, "extensions", "health_check", "endpoint")
	setSelfMetrics(t, agent, freePort(t))
	for _, id := range []string{"loadbalancing/traces", "loadbalancing/metrics"} {
		require.NotNil(t, getYAML(t, agent, "exporters", id, "resolver", "dns"),
			"the shipped agent resolves the tier through DNS (the headless Service)")
		setYAML(t, agent, map[string]any{"static": map[string]any{"hostnames": []any{replicas[0].otlp, replicas[1].otlp}}},
			"exporters", id, "resolver")
	}
	assert.Equal(t, "traceID", getYAML(t, agent, "exporters", "loadbalancing/traces", "routing_key"))
	// the agent first when stopping: it flushes to the replicas, which flush to the sinks
	collectors = append([]*collector{startCollector(t, "--config", writeYAML(t, "agent.yaml", agent))}, collectors...)
	waitHTTP(t, "http://"+agentHealth+"/", http.StatusOK)

	const requests = 600
	truth, err := sim.Run(context.Background(), sim.Config{
		Endpoint: agentOTLP, Requests: requests, Rate: 400,
		Endpoints: 3, Backends: 2, ErrorRate: 0.05, Service: "orders-gateway", Instance: "replica-a", Seed: 9,
		SampleRate: 1, // the gateway keeps every trace: the tier samples
	})
	require.NoError(t, err)
	require.Len(t, truth.Traces, requests)
	wantSpans := 0
	for _, classes := range truth.Traces {
		wantSpans += sumInts(classes)
	}

	// The expected kept set: the sampling processor, configured as tier.yaml
	// says, deciding alone on every trace ID the gateway sent.
	kept := keptByOneSampler(t, loadYAML(t, tierReplicaYAML), truth.Traces)
	wantKeptSpans := 0
	for id := range kept {
		wantKeptSpans += sumInts(truth.Traces[id])
	}
	t.Logf("%d traces (%d spans) sent, %d traces (%d spans) kept by one sampler", len(truth.Traces), wantSpans, len(kept), wantKeptSpans)

	countSpans := func(pick func(*replica) *otlpSink) int {
		n := 0
		for _, r := range replicas {
			n += len(pick(r).spans())
		}
		return n
	}
	require.Eventually(t, func() bool { return countSpans(func(r *replica) *otlpSink { return r.all }) >= wantSpans },
		60*time.Second, 200*time.Millisecond, "every span reaches the tier")
	require.Eventually(t, func() bool { return countSpans(func(r *replica) *otlpSink { return r.sampled }) >= wantKeptSpans },
		60*time.Second, 200*time.Millisecond, "the kept spans reach the replicas' Tempo")
	// The gateway's metrics, routed by resource: one gateway, one replica.
	var withMetrics []int
	require.Eventually(t, func() bool {
		withMetrics = withMetrics[:0]
		for i, r := range replicas {
			if strings.Contains(getBody(t, "http://"+r.prom+"/metrics"), "krakend_proxy_duration_bucket") {
				withMetrics = append(withMetrics, i)
			}
		}
		return len(withMetrics) > 0
	}, 60*time.Second, 200*time.Millisecond, "the gateway's metrics reach a replica's Prometheus endpoint")
	assert.Len(t, withMetrics, 1, "one gateway's series stay on one replica")

	// Stop the agent and the replicas (each flushes on SIGTERM): nothing can
	// arrive after this, so the counts below are final.
	for _, c := range collectors {
		c.stop(t)
	}

	// Every span exactly once over the two replicas, every trace on one.
	type spanKey struct {
		trace string
		span  pcommon.SpanID
	}
	seen := map[spanKey]int{}
	perTrace := map[string]map[int]int{} // trace → replica → spans
	perReplica := make([]int, len(replicas))
	for i, r := range replicas {
		for _, s := range r.all.spans() {
			id := s.TraceID().String()
			seen[spanKey{id, s.SpanID()}]++
			if perTrace[id] == nil {
				perTrace[id] = map[int]int{}
			}
			perTrace[id][i]++
			perReplica[i]++
		}
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("span %s of trace %s arrived %d times", k.span, k.trace, n)
		}
	}
	require.Len(t, perTrace, len(truth.Traces), "every trace reaches the tier")
	for id, classes := range truth.Traces {
		byReplica := perTrace[id]
		assert.Len(t, byReplica, 1, "trace %s lands on one replica (spans per replica: %v)", id, byReplica)
		total := 0
		for _, n := range byReplica {
			total += n
		}
		assert.Equal(t, sumInts(classes), total, "trace %s arrives whole", id)
	}
	t.Logf("spans per replica: %v", perReplica)
	for i, n := range perReplica {
		assert.Greater(t, n, wantSpans/10, "replica %d gets a share of the traces", i)
	}

	// Sampling: the two replicas together keep exactly what one would.
	keptAt := map[string]map[int]int{}
	for i, r := range replicas {
		for _, s := range r.sampled.spans() {
			id := s.TraceID().String()
			if keptAt[id] == nil {
				keptAt[id] = map[int]int{}
			}
			keptAt[id][i]++
		}
	}
	gotKept := map[string]bool{}
	for id, byReplica := range keptAt {
		gotKept[id] = true
		total := 0
		for _, n := range byReplica {
			total += n
		}
		assert.Equal(t, sumInts(truth.Traces[id]), total, "kept trace %s arrives whole", id)
	}
	assert.Equal(t, kept, gotKept, "the tier keeps the traces one sampler keeps")
	assert.InDelta(t, 0.25*requests, len(gotKept), 0.1*requests, "tier.yaml's sampler keeps about 25 %%")
}

// keptByOneSampler runs the sampling processor of the replica configuration
// in process on one root span per trace ID, and returns the trace IDs it keeps.
func keptByOneSampler(t *testing.T, replicaCfg map[string]any, traces map[string]map[string]int) map[string]bool {
	t.Helper()
	raw, err := yaml.Marshal(getYAML(t, replicaCfg, "processors", "sampling"))
	require.NoError(t, err)
	var shipped struct {
		Percentage float64 `yaml:"sampling_percentage"`
		Mode       string  `yaml:"mode"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &shipped))
	factory := samplingprocessor.NewFactory()
	cfg := factory.CreateDefaultConfig().(*samplingprocessor.Config)
	cfg.SamplingPercentage = shipped.Percentage
	if shipped.Mode != "" {
		cfg.Mode = samplingprocessor.Mode(shipped.Mode)
	}
	require.NoError(t, cfg.Validate())
	sink := new(consumertest.TracesSink)
	set := processor.Settings{
		ID:                component.NewID(factory.Type()),
		TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}
	p, err := factory.CreateTraces(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for id := range traces {
		var tid pcommon.TraceID
		raw, err := hex.DecodeString(id)
		require.NoError(t, err, "trace ID %q", id)
		require.Len(t, raw, len(tid), "trace ID %q", id)
		copy(tid[:], raw)
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID{1})
		s.SetName("GET /")
	}
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	kept := map[string]bool{}
	for _, got := range sink.AllTraces() {
		for i := 0; i < got.ResourceSpans().Len(); i++ {
			ss := got.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < ss.Len(); j++ {
				for k := 0; k < ss.At(j).Spans().Len(); k++ {
					kept[ss.At(j).Spans().At(k).TraceID().String()] = true
				}
			}
		}
	}
	return kept
}

func freeAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", freePort(t))
}

func loadYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &doc), path)
	return doc
}

func writeYAML(t *testing.T, name string, doc map[string]any) string {
	t.Helper()
	raw, err := yaml.Marshal(doc)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	return path
}

// getYAML returns the value at keys; the test fails when a key is missing,
// so a shipped file that changes shape fails here rather than silently.
func getYAML(t *testing.T, doc map[string]any, keys ...string) any {
	t.Helper()
	var cur any = doc
	for i, k := range keys {
		m, ok := cur.(map[string]any)
		require.True(t, ok, "%s is not a mapping", strings.Join(keys[:i], "."))
		cur, ok = m[k]
		require.True(t, ok, "%s is missing", strings.Join(keys[:i+1], "."))
	}
	return cur
}

// setYAML replaces the value at keys, which must exist.
func setYAML(t *testing.T, doc map[string]any, value any, keys ...string) {
	t.Helper()
	getYAML(t, doc, keys...)
	parent := doc
	if len(keys) > 1 {
		parent = getYAML(t, doc, keys[:len(keys)-1]...).(map[string]any)
	}
	parent[keys[len(keys)-1]] = value
}

// setSelfMetrics moves the collector's own metrics (the first pull reader)
// to a free loopback port.
func setSelfMetrics(t *testing.T, doc map[string]any, port int) {
	t.Helper()
	readers := getYAML(t, doc, "service", "telemetry", "metrics", "readers").([]any)
	require.NotEmpty(t, readers)
	prom := readers[0].(map[string]any)["pull"].(map[string]any)["exporter"].(map[string]any)["prometheus"].(map[string]any)
	prom["host"] = "127.0.0.1"
	prom["port"] = port
}
