package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryOverlayAtOnceFromOneKrakenDFile runs the collector on one
// krakend.json plus the Tempo, X-Ray, Datadog and Azure Monitor overlays:
// the collector merges them into one configuration whose traces pipeline
// has all four exporters (and the translation's own debug exporter), and
// each destination receives the same gateway traffic as when it is alone.
func TestEveryOverlayAtOnceFromOneKrakenDFile(t *testing.T) {
	tempo, tempoAddr := startOTLPSink(t)
	t.Setenv("TEMPO_ENDPOINT", tempoAddr)
	xray, datadog, azure := startFakeXRay(t), startFakeDatadog(t), startFakeAzureMonitor(t)
	setXRayEnv(t, xray)
	setDatadogEnv(t, datadog)
	setAzureEnv(t, azure)

	_, addr := startGatewayCollector(t,
		"../config/overlays/tempo.yaml",
		"../config/overlays/xray.yaml", "testdata/xray-local.yaml",
		"../config/overlays/datadog.yaml", "testdata/datadog-local.yaml",
		"../config/overlays/azuremonitor.yaml",
	)
	sendGatewayTraces(t, addr, 1)
	sendGatewayMetrics(t, addr)

	destinations := []struct {
		name     string
		received func() bool
	}{
		{"Tempo", func() bool { return len(tempo.spans()) >= 10 }},
		{"X-Ray", func() bool { return len(xraySegments(t, xray)) >= 10 }},
		{"Datadog", func() bool {
			return len(datadogSpans(t, datadog)) >= 10 && len(datadogSeries(t, datadog)) >= len(gatewayCounterNames()) &&
				len(datadogSketches(t, datadog)) >= len(gatewayHistogramNames())
		}},
		{"Azure Monitor", func() bool {
			envs := azureEnvelopes(t, azure)
			return len(envelopesOfType(envs, "RequestData"))+len(envelopesOfType(envs, "RemoteDependencyData")) >= 10 &&
				len(envelopesOfType(envs, "MetricData")) >= len(gatewayMetricNames(nil))
		}},
	}
	// One deadline for all: they receive in parallel. Azure Monitor's
	// exporter sends a batch 10 s (maxbatchinterval) after its first item.
	deadline := time.Now().Add(60 * time.Second)
	for _, d := range destinations {
		require.Eventually(t, d.received, time.Until(deadline), 100*time.Millisecond, "%s receives the gateway's traffic", d.name)
	}

	// Exactly once each: merging the overlays added each exporter once.
	assert.Len(t, tempo.spans(), 10, "Tempo")
	assertXRaySigned(t, xray)
	assertXRaySegments(t, xraySegments(t, xray), 1)
	assertDatadogSpans(t, datadogSpans(t, datadog), 1)
	assertDatadogMetrics(t, datadog)
	azureEnvs := azureEnvelopes(t, azure)
	assertAzureTraces(t, azureEnvs, 1)
	assertAzureMetrics(t, azureEnvs)
}
