package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/testbed/testbed"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"

	"github.com/otelcol-gateway/otelcol-gateway/cmd/gatewaysim/sim"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// The testbed scenarios (testbed_test.go) run the ocb-built binary through
// the contrib testbed's child-process runner, which measures the collector's
// CPU and RSS and stops the test when they pass the scenario's ResourceSpec.
// The load is the repository's simulator (cmd/gatewaysim/sim) wrapped as a
// testbed LoadGenerator: real OpenTelemetry SDK exports shaped like KrakenD's,
// with the ground truth of what was sent. Every scenario writes its collector
// log and a results row under integration/testoutput/testbed/.

// Where the testbed writes: TESTRESULTS.md and benchmarks.json (the testbed's
// PerformanceResults), resources.json (ours: one entry per scenario), and
// results/<test>/agent.log, backend.log.
var (
	integrationDir string
	testbedOutDir  string

	testbedMu       sync.Mutex
	testbedResults  *testbed.PerformanceResults
	testbedMeasured []testbedMeasurement
)

// testbedMeasurement is what resources.json records for one scenario.
type testbedMeasurement struct {
	Scenario    string  `json:"scenario"`
	Passed      bool    `json:"passed"`
	Seconds     float64 `json:"seconds"`
	CPUAvg      float64 `json:"cpu_percent_avg"`
	CPUMax      float64 `json:"cpu_percent_max"`
	CPULimit    float64 `json:"cpu_percent_limit"`
	RAMAvgMiB   uint32  `json:"ram_mib_avg"`
	RAMMaxMiB   uint32  `json:"ram_mib_max"`
	RAMLimitMiB uint32  `json:"ram_mib_limit"`
	Requests    int64   `json:"requests_sent"`
	Spans       int64   `json:"spans_sent"`
	// Received is the number of spans each destination decoded.
	Received map[string]int64 `json:"spans_received"`
}

func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	integrationDir = wd
	testbedOutDir = filepath.Join(wd, "testoutput", "testbed")
	code := m.Run()
	testbedMu.Lock()
	if testbedResults != nil {
		testbed.SaveResults(testbedResults)
		b, _ := json.MarshalIndent(testbedMeasured, "", "  ")
		_ = os.WriteFile(filepath.Join(testbedOutDir, "resources.json"), append(b, '\n'), 0o644)
		fmt.Printf("testbed results: %s\n", testbedOutDir)
	}
	testbedMu.Unlock()
	os.Exit(code)
}

// testbedSummary starts the testbed's results table on first use, so that a
// run of other tests alone leaves no empty table behind.
func testbedSummary(t *testing.T) *testbed.PerformanceResults {
	testbedMu.Lock()
	defer testbedMu.Unlock()
	if testbedResults == nil {
		require.NoError(t, os.MkdirAll(testbedOutDir, 0o755))
		testbedResults = &testbed.PerformanceResults{}
		testbedResults.Init(testbedOutDir)
	}
	return testbedResults
}

// simLoad is the gateway simulator as a testbed LoadGenerator: Start plays
// the configured traffic once, Stop waits until the simulator has flushed
// its telemetry, and the truth says what was sent.
type simLoad struct {
	cfg     sim.Config
	started time.Time
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
	truth   *sim.Truth
	err     error
}

var _ testbed.LoadGenerator = (*simLoad)(nil)

func newSimLoad(cfg sim.Config) *simLoad {
	return &simLoad{cfg: cfg, cancel: func() {}, done: make(chan struct{})}
}

func (l *simLoad) Start(testbed.LoadOptions) {
	l.once.Do(func() {
		l.started = time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		l.cancel = cancel
		go func() {
			defer close(l.done)
			l.truth, l.err = sim.Run(ctx, l.cfg)
		}()
	})
}

// Stop ends the run: a scenario waits for it to finish first (wait), so
// only a failed scenario cuts it short.
func (l *simLoad) Stop() {
	started := true
	l.once.Do(func() { started = false; close(l.done) })
	if started {
		l.cancel()
		<-l.done
	}
}

// IsReady says whether the collector's OTLP/gRPC port accepts connections.
func (l *simLoad) IsReady() bool {
	conn, err := net.DialTimeout("tcp", l.cfg.Endpoint, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func (l *simLoad) finished() *sim.Truth {
	select {
	case <-l.done:
		return l.truth
	default:
		return nil
	}
}

// DataItemsSent is the number of spans the simulator sent, once it is done.
func (l *simLoad) DataItemsSent() uint64 {
	if tr := l.finished(); tr != nil {
		return uint64(tr.Spans)
	}
	return 0
}

func (*simLoad) IncDataItemsSent()       {}
func (*simLoad) PermanentErrors() uint64 { return 0 }

func (l *simLoad) GetStats() string {
	if tr := l.finished(); tr != nil {
		return fmt.Sprintf("Sent: %d requests, %d spans, %d metric series", tr.Requests, tr.Spans, tr.MetricPoints)
	}
	return "Sent: (simulator running)"
}

// wait returns the truth of the finished run; it calls check every half
// second meanwhile (check fails the test when the collector is gone).
func (l *simLoad) wait(t *testing.T, check func()) *sim.Truth {
	t.Helper()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(2 * time.Minute)
wait:
	for {
		select {
		case <-l.done:
			break wait
		case <-tick.C:
			check()
		case <-timeout:
			require.FailNow(t, "the simulator did not finish within 2 minutes")
		}
	}
	require.NoError(t, l.err, "simulator")
	require.NotNil(t, l.truth)
	return l.truth
}

// nopReceiver is the testbed MockBackend's receiver when the destination is
// a fake of a cloud service rather than an OTLP endpoint: the fake decodes
// what arrives, and the scenario asserts on it.
type nopReceiver struct{}

func (nopReceiver) Start(consumer.Traces, consumer.Metrics, consumer.Logs) error { return nil }
func (nopReceiver) Stop() error                                                  { return nil }
func (nopReceiver) GenConfigYAMLStr() string                                     { return "" }
func (nopReceiver) ProtocolName() string                                         { return "none" }

// testbedRun describes one scenario's collector and load.
type testbedRun struct {
	// krakendJSON is the gateway's krakend.json; {{GRPC}} and {{PROM}} are
	// replaced by free ports (the collector's OTLP/gRPC port and its
	// Prometheus exporter's).
	krakendJSON string
	// configs are overlays and test-only YAML files, relative to integration/.
	configs []string
	// tempo starts a testbed OTLP receiver as the MockBackend and points
	// the Tempo overlay (TEMPO_ENDPOINT) at it.
	tempo bool
	// prometheus starts Debian's Prometheus scraping the collector's
	// Prometheus exporter; without it the scenario reads the exporter.
	prometheus bool
	// load is the simulator's run; Endpoint is filled in.
	load sim.Config
	// limits are the collector's CPU (% of one core) and RSS (MiB) limits.
	limits testbed.ResourceSpec
}

// testbedCase is a running scenario.
type testbedCase struct {
	t       *testing.T
	tc      *testbed.TestCase
	runner  testbed.OtelcolRunner
	load    *simLoad
	truth   *sim.Truth
	promURL string // the collector's Prometheus exporter (when krakend.json has one)
	promAPI string // the Prometheus server scraping it (when the run asks for one)
	started time.Time

	mu       sync.Mutex
	received map[string]int64 // spans per destination, for resources.json
}

// record notes how many spans a destination received.
func (c *testbedCase) record(destination string, d destinationSpans) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.received == nil {
		c.received = map[string]int64{}
	}
	c.received[destination] = d.total()
}

// The limits every scenario shares unless it sets its own: CPU in percent
// of one core, RSS in MiB. Measured on 2 shared cores at the simulator's
// 150-300 requests/s (README.md, "Testbed scenarios", lists the figures):
// at most about 43 % CPU in a one-second window and 101 MiB RSS with one
// destination. The limits leave more than twice that, so a busy CI machine
// does not fail a healthy collector while a leak or a busy loop still does.
var defaultTestbedLimits = testbed.ResourceSpec{ExpectedMaxCPU: 100, ExpectedMaxRAM: 250}

// startTestbed starts the backend, the collector (through the testbed's
// child-process runner, on the generated krakend.json plus the scenario's
// configs) and the simulator, and waits for the simulator to finish.
func startTestbed(t *testing.T, run testbedRun) *testbedCase {
	t.Helper()
	bin := binary(t)
	grpcPort, promPort, healthPort, httpPort := freePort(t), freePort(t), freePort(t), freePort(t)
	krakendJSON := strings.NewReplacer("{{GRPC}}", fmt.Sprint(grpcPort), "{{PROM}}", fmt.Sprint(promPort)).Replace(run.krakendJSON)
	krakendPath := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(krakendPath, []byte(krakendJSON), 0o600))

	runner := testbed.NewChildProcessCollector(testbed.WithAgentExePath(bin),
		testbed.WithEnvVar("TEST_HEALTH_CHECK_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", healthPort)),
		testbed.WithEnvVar("TEST_GRPC_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", grpcPort)),
		testbed.WithEnvVar("TEST_HTTP_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", httpPort)))
	var receiver testbed.DataReceiver = nopReceiver{}
	if run.tempo {
		tempoPort := freePort(t)
		receiver = testbed.NewOTLPDataReceiver(tempoPort)
		t.Setenv("TEMPO_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", tempoPort))
	}
	load := run.load
	load.Endpoint = fmt.Sprintf("127.0.0.1:%d", grpcPort)
	gen := newSimLoad(load)
	limits := run.limits
	if limits.ExpectedMaxCPU == 0 && limits.ExpectedMaxRAM == 0 {
		limits = defaultTestbedLimits
	}

	// The testbed writes its results under the working directory: move
	// there for the scenario (paths below are absolute).
	require.NoError(t, os.MkdirAll(testbedOutDir, 0o755))
	t.Chdir(testbedOutDir)
	// The testbed checks CPU and RSS every min(TESTCASE_DURATION, 3s), and
	// reads nothing else from TESTCASE_DURATION here (the simulator's run
	// sets the scenario's length): one check a second suits runs of seconds.
	t.Setenv("TESTCASE_DURATION", "1s")
	tc := testbed.NewLoadGeneratorTestCase(t, gen, receiver, runner,
		&scenarioValidator{}, testbedSummary(t), testbed.WithResourceLimits(limits))
	c := &testbedCase{t: t, tc: tc, runner: runner, load: gen, started: time.Now(),
		promURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)}
	t.Cleanup(c.stop)

	tc.EnableRecording()
	tc.StartBackend()
	args := []string{"--config", "krakend:" + krakendPath}
	for _, cfg := range append(run.configs, "testdata/test-ports.yaml") {
		args = append(args, "--config", filepath.Join(integrationDir, cfg))
	}
	tc.StartAgent(args...)
	// StartAgent waited for the OTLP port; the health check says every
	// exporter has started too.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", healthPort)); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		// the testbed stopped the collector (a limit passed) or it exited
		c.healthy()
		require.True(t, time.Now().Before(deadline), "the collector becomes healthy within 60s (log: %s)", tc.ComposeTestResultFileName("agent.log"))
	}
	if run.prometheus {
		c.promAPI = startPrometheus(t, fmt.Sprintf("127.0.0.1:%d", promPort))
	}
	tc.StartLoad(testbed.LoadOptions{})
	c.truth = gen.wait(t, c.healthy)
	t.Logf("simulator: %d requests, %d spans %v", c.truth.Requests, c.truth.Spans, c.truth.SpansPerLayer)
	return c
}

// healthy fails the test when the testbed stopped the collector (a resource
// limit passed, or the process died). Call it after the scenario's checks:
// the limits then held for the whole scenario.
func (c *testbedCase) healthy() {
	c.t.Helper()
	_, _, err := c.tc.AgentMemoryInfo()
	require.NoError(c.t, err, "the testbed saw the collector running within its limits (agent log: %s)",
		c.tc.ComposeTestResultFileName("agent.log"))
}

// stop stops load, collector and backend, records the results row and the
// measured CPU and RSS.
func (c *testbedCase) stop() {
	c.tc.Stop()
	rc := c.runner.GetTotalConsumption()
	m := testbedMeasurement{
		Scenario: c.t.Name(), Passed: !c.t.Failed(), Seconds: time.Since(c.started).Seconds(),
		CPUAvg: rc.CPUPercentAvg, CPUMax: rc.CPUPercentMax, CPULimit: rc.CPUPercentLimit,
		RAMAvgMiB: rc.RAMMiBAvg, RAMMaxMiB: rc.RAMMiBMax, RAMLimitMiB: rc.RAMMiBLimit,
	}
	c.mu.Lock()
	m.Received = c.received
	c.mu.Unlock()
	if c.truth != nil {
		m.Requests, m.Spans = c.truth.Requests, c.truth.Spans
	}
	c.t.Logf("collector CPU avg %.1f%% max %.1f%% (limit %.0f%%), RSS avg %d MiB max %d MiB (limit %d MiB)",
		m.CPUAvg, m.CPUMax, m.CPULimit, m.RAMAvgMiB, m.RAMMaxMiB, m.RAMLimitMiB)
	testbedMu.Lock()
	testbedMeasured = append(testbedMeasured, m)
	testbedMu.Unlock()
}

// scenarioValidator records the testbed's results row (CPU, RAM, limits);
// the scenarios assert on the destinations themselves.
type scenarioValidator struct{}

func (*scenarioValidator) Validate(*testbed.TestCase) {}
func (*scenarioValidator) RecordResults(tc *testbed.TestCase) {
	(&testbed.PerfTestValidator{IncludeLimitsInReport: true}).RecordResults(tc)
}

// Counting what arrived, by layer class (internal/layer's names, which are
// the simulator's truth keys too).

const readTrackerSpan = "http.client.response.read.tracker"

// classOfStage is the class of a span from its krakend.stage and whether it
// is the read tracker (DESIGN.md section 2).
func classOfStage(stage string, readTracker bool) string {
	switch stage {
	case "global":
		return layer.GlobalStage.String()
	case "proxy":
		return layer.ProxyStage.String()
	case "backend":
		return layer.BackendStage.String()
	case "backend-request":
		if readTracker {
			return layer.BackendReadPayload.String()
		}
		return layer.BackendRoundTrip.String()
	}
	return layer.Unclassified.String()
}

// destinationSpans is what one destination received: spans per class and
// per trace (trace ID as lower-case hex, 32 digits).
type destinationSpans struct {
	perClass map[string]int64
	perTrace map[string]map[string]int
}

func newDestinationSpans() destinationSpans {
	return destinationSpans{perClass: map[string]int64{}, perTrace: map[string]map[string]int{}}
}

func (d destinationSpans) add(traceID, class string) {
	d.perClass[class]++
	if d.perTrace[traceID] == nil {
		d.perTrace[traceID] = map[string]int{}
	}
	d.perTrace[traceID][class]++
}

func (d destinationSpans) total() int64 {
	var n int64
	for _, v := range d.perClass {
		n += v
	}
	return n
}

func tempoSpans(mb *testbed.MockBackend) destinationSpans {
	d := newDestinationSpans()
	for _, td := range mb.GetReceivedTraces() {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					s := spans.At(k)
					d.add(s.TraceID().String(), layer.ClassifySpan(s).String())
				}
			}
		}
	}
	return d
}

// xraySpans classifies X-Ray's documents by their krakend.stage: an
// annotation where the overlay indexes it, else the exporter's metadata
// (an OpenCensus translation names no indexed attributes).
func xraySpans(t *testing.T, fake *fakeService) destinationSpans {
	d := newDestinationSpans()
	for _, r := range fake.requests("/TraceSegments") {
		var body struct {
			TraceSegmentDocuments []string `json:"TraceSegmentDocuments"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &body), "PutTraceSegments body")
		for _, doc := range body.TraceSegmentDocuments {
			var s struct {
				Name        string                    `json:"name"`
				TraceID     string                    `json:"trace_id"`
				Annotations map[string]any            `json:"annotations"`
				Metadata    map[string]map[string]any `json:"metadata"`
			}
			require.NoError(t, json.Unmarshal([]byte(doc), &s), "segment document %s", doc)
			stage, ok := s.Annotations["krakend.stage"].(string)
			if !ok {
				stage, _ = s.Metadata["default"]["krakend.stage"].(string)
			}
			// 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy back to the OTLP hex ID
			id := strings.ReplaceAll(strings.TrimPrefix(s.TraceID, "1-"), "-", "")
			d.add(id, classOfStage(stage, s.Name == readTrackerSpan))
		}
	}
	return d
}

func datadogSpansByClass(t *testing.T, fake *fakeService) destinationSpans {
	d := newDestinationSpans()
	for _, s := range datadogSpans(t, fake) {
		_, readTracker := s.Metrics["http.client.response.read.size"]
		d.add(s.Meta["otel.trace_id"], classOfStage(s.Meta["krakend.stage"], readTracker))
	}
	return d
}

func azureSpans(t *testing.T, fake *fakeService) destinationSpans {
	d := newDestinationSpans()
	envs := azureEnvelopes(t, fake)
	for _, e := range append(envelopesOfType(envs, "RequestData"), envelopesOfType(envs, "RemoteDependencyData")...) {
		props := e.Data.BaseData.Properties
		_, readTracker := props["http.client.response.read.size"]
		d.add(e.Tags["ai.operation.id"], classOfStage(props["krakend.stage"], readTracker))
	}
	return d
}

// waitForSpans waits until the destination has received want spans in all,
// then gives it a moment more to show any extra one.
func waitForSpans(t *testing.T, name string, want int64, got func() destinationSpans) destinationSpans {
	t.Helper()
	var last destinationSpans
	ok := assert.Eventually(t, func() bool {
		last = got()
		return last.total() >= want
	}, 45*time.Second, 250*time.Millisecond, "%s receives %d spans", name, want)
	if !ok {
		t.Logf("%s received %d spans: %v", name, last.total(), last.perClass)
		return last
	}
	time.Sleep(500 * time.Millisecond)
	return got()
}

// expectedPerClass is the truth restricted to the classes that pass the
// collector's layer switches.
func expectedPerClass(truth *sim.Truth, enabled func(class string) bool) map[string]int64 {
	out := map[string]int64{}
	for class, n := range truth.SpansPerLayer {
		if enabled(class) {
			out[class] = n
		}
	}
	return out
}

func allClasses(string) bool { return true }

// promFamily is the sum of one family's samples, and whether the family
// has any: from the Prometheus server when the scenario runs one, else from
// the collector's exporter.
func (c *testbedCase) promFamily(t *testing.T, family string) (float64, bool) {
	if c.promAPI != "" {
		return promScalar(t, c.promAPI, "sum("+family+")"), promScalar(t, c.promAPI, "count("+family+")") > 0
	}
	return promSum(t, c.promURL, family), slices.Contains(promFamilies(getBody(t, c.promURL)), family)
}

// promSum is the sum of one family's samples at the collector's Prometheus
// exporter.
func promSum(t *testing.T, url, family string) float64 {
	total := 0.0
	for _, v := range sumByLabel(getBody(t, url), family, "", "") {
		total += v
	}
	return total
}

// promFamilies lists the metric names of an exposition.
func promFamilies(exposition string) []string {
	seen := map[string]bool{}
	for _, line := range strings.Split(exposition, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		seen[name] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
