package integration

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/trace/apiv2/tracepb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// fakeGoogleCloud stands in for Cloud Trace (TraceService.BatchWriteSpans)
// and Cloud Monitoring (MetricService.CreateTimeSeries and
// CreateMetricDescriptor) on one insecure gRPC listener, keeping every
// request the googlecloud exporter sends.
type fakeGoogleCloud struct {
	tracepb.UnimplementedTraceServiceServer
	monitoringpb.UnimplementedMetricServiceServer
	mu          sync.Mutex
	spanBatches []*tracepb.BatchWriteSpansRequest
	timeSeries  []*monitoringpb.CreateTimeSeriesRequest
	descriptors []*monitoringpb.CreateMetricDescriptorRequest
}

func (f *fakeGoogleCloud) BatchWriteSpans(_ context.Context, req *tracepb.BatchWriteSpansRequest) (*emptypb.Empty, error) {
	f.mu.Lock()
	f.spanBatches = append(f.spanBatches, req)
	f.mu.Unlock()
	return &emptypb.Empty{}, nil
}

func (f *fakeGoogleCloud) CreateTimeSeries(_ context.Context, req *monitoringpb.CreateTimeSeriesRequest) (*emptypb.Empty, error) {
	f.mu.Lock()
	f.timeSeries = append(f.timeSeries, req)
	f.mu.Unlock()
	return &emptypb.Empty{}, nil
}

func (f *fakeGoogleCloud) CreateMetricDescriptor(_ context.Context, req *monitoringpb.CreateMetricDescriptorRequest) (*metricpb.MetricDescriptor, error) {
	f.mu.Lock()
	f.descriptors = append(f.descriptors, req)
	f.mu.Unlock()
	return req.GetMetricDescriptor(), nil
}

func (f *fakeGoogleCloud) spans() []*tracepb.Span {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*tracepb.Span
	for _, b := range f.spanBatches {
		out = append(out, b.GetSpans()...)
	}
	return out
}

func startFakeGoogleCloud(t *testing.T) (*fakeGoogleCloud, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	f := &fakeGoogleCloud{}
	tracepb.RegisterTraceServiceServer(srv, f)
	monitoringpb.RegisterMetricServiceServer(srv, f)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return f, ln.Addr().String()
}

// TestStackdriverFromOpenCensusConfigReachesCloudTraceAndMonitoring: an
// OpenCensus stackdriver exporter becomes the googlecloud exporter. An
// overlay points its trace and metric clients at a local fake over plain
// gRPC (use_insecure: the exporter then dials the endpoint itself and, with
// the project from project_id, looks up no credentials); everything else is
// the translation's. Cloud Trace receives every span as
// projects/<project>/traces/<trace>/spans/<span>, and Cloud Monitoring time
// series whose types carry the translated prefix (metric_prefix, or
// workload.googleapis.com without one), with the request duration
// distribution counting every request.
func TestStackdriverFromOpenCensusConfigReachesCloudTraceAndMonitoring(t *testing.T) {
	t.Run("metric_prefix and default_labels", func(t *testing.T) {
		testStackdriver(t, `"metric_prefix": "custom.googleapis.com/krakend/", "default_labels": {"team": "api"}`, "custom.googleapis.com/krakend/", true)
	})
	t.Run("no metric_prefix", func(t *testing.T) {
		testStackdriver(t, "", "workload.googleapis.com/", false)
	})
}

func testStackdriver(t *testing.T, extra, prefix string, teamLabel bool) {
	fake, fakeAddr := startFakeGoogleCloud(t)
	t.Setenv("GCP_FAKE_ENDPOINT", fakeAddr)
	overlay := filepath.Join(t.TempDir(), "googlecloud-local.yaml")
	require.NoError(t, os.WriteFile(overlay, []byte(`exporters:
  googlecloud:
    trace:
      endpoint: ${env:GCP_FAKE_ENDPOINT}
      use_insecure: true
    metric:
      endpoint: ${env:GCP_FAKE_ENDPOINT}
      use_insecure: true
`), 0o600))
	const (
		service = "oc-stackdriver-gateway"
		project = "oc-test-project"
	)
	if extra != "" {
		extra = ", " + extra
	}
	addr := startOpenCensusCollector(t, openCensusJSON(service,
		fmt.Sprintf(`"stackdriver": {"project_id": %q%s}`, project, extra)),
		overlay)

	truth := runSimulatedGateway(t, addr, service, ocRequests)

	// Cloud Trace
	waitUntil(func() bool { return int64(len(fake.spans())) >= truth.Spans })
	time.Sleep(2 * time.Second) // nothing more may come, longer than the sampler's 1-s batch
	fake.mu.Lock()
	for _, b := range fake.spanBatches {
		assert.Equal(t, "projects/"+project, b.GetName(), "BatchWriteSpans names the project")
	}
	fake.mu.Unlock()
	name := regexp.MustCompile(`^projects/` + project + `/traces/([0-9a-f]{32})/spans/([0-9a-f]{16})$`)
	got := map[string]int{}
	spanIDs := map[string]map[string]bool{}
	spans := fake.spans()
	var badNames []string
	for _, s := range spans {
		m := name.FindStringSubmatch(s.GetName())
		if m == nil {
			badNames = append(badNames, s.GetName())
			continue
		}
		assert.Equal(t, m[2], s.GetSpanId())
		assert.NotEmpty(t, s.GetDisplayName().GetValue(), "display name")
		got[m[1]]++
		if spanIDs[m[1]] == nil {
			spanIDs[m[1]] = map[string]bool{}
		}
		spanIDs[m[1]][s.GetSpanId()] = true
	}
	assert.Empty(t, badNames[:min(len(badNames), 3)], "span names are projects/%s/traces/<trace>/spans/<span> (%d are not)", project, len(badNames))
	assert.Equal(t, spansPerTrace(truth), got, "spans per trace: every span the gateway sent, once")
	for _, s := range spans {
		m := name.FindStringSubmatch(s.GetName())
		if m != nil && s.GetParentSpanId() != "" {
			assert.True(t, spanIDs[m[1]][s.GetParentSpanId()], "span %s's parent is in its trace", s.GetName())
		}
	}

	// Cloud Monitoring
	durationType := prefix + "http.server.duration"
	final := func() (float64, map[string]bool) {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		types := map[string]bool{}
		series := map[string]int64{}
		for _, req := range fake.timeSeries {
			for _, ts := range req.GetTimeSeries() {
				types[ts.GetMetric().GetType()] = true
				if ts.GetMetric().GetType() != durationType {
					continue
				}
				key := fmt.Sprint(sortedLabels(ts.GetMetric().GetLabels()), sortedLabels(ts.GetResource().GetLabels()))
				for _, p := range ts.GetPoints() {
					if c := p.GetValue().GetDistributionValue().GetCount(); c > series[key] {
						series[key] = c // cumulative: the last is the total
					}
				}
			}
		}
		var total float64
		for _, c := range series {
			total += float64(c)
		}
		return total, types
	}
	var total float64
	var types map[string]bool
	waitUntil(func() bool {
		total, _ = final()
		return total >= float64(truth.Requests)
	})
	time.Sleep(time.Second)
	total, types = final()
	assert.Equal(t, float64(truth.Requests), total, "requests counted by %s", durationType)
	fake.mu.Lock()
	projects := map[string]int{}
	for _, req := range fake.timeSeries {
		projects[req.GetName()]++
	}
	fake.mu.Unlock()
	assert.Equal(t, []string{"projects/" + project}, slices.Sorted(maps.Keys(projects)), "CreateTimeSeries names the project")
	known := map[string]bool{}
	for _, n := range gatewayMetricNames(nil) {
		known[n] = true
	}
	for typ := range types {
		name, ok := strings.CutPrefix(typ, prefix)
		assert.True(t, ok, "metric type %s has the translated prefix", typ)
		assert.True(t, known[name], "metric type %s names a metric the gateway sends", typ)
	}
	assert.True(t, types[prefix+"http.client.duration"], "backend durations among %v", types)

	fake.mu.Lock()
	descriptors := map[string]bool{}
	for _, d := range fake.descriptors {
		descriptors[d.GetMetricDescriptor().GetType()] = true
	}
	var withTeam int
	for _, req := range fake.timeSeries {
		for _, ts := range req.GetTimeSeries() {
			if ts.GetMetric().GetLabels()["team"] == "api" {
				withTeam++
			}
		}
	}
	fake.mu.Unlock()
	assert.True(t, descriptors[durationType], "CreateMetricDescriptor for %s among %v", durationType, descriptors)
	if teamLabel {
		assert.Positive(t, withTeam, "default_labels become labels of the time series (resource_filters)")
	} else {
		assert.Zero(t, withTeam, "no default_labels, no team label")
	}
	t.Logf("stackdriver: %d spans, %d metric types, %d descriptors", len(spans), len(types), len(descriptors))
}

func sortedLabels(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
