package requestmetricsconnector // import "github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector"

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector/internal/metadata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/requestpair"
)

// NewFactory returns the factory of the `requestmetrics` connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithTracesToMetrics(createTracesToMetrics, metadata.TracesToMetricsStability),
	)
}

// createDefaultConfig has spanmetrics' defaults (v0.152.0 factory.go), so a
// configuration moved from spanmetrics means the same here.
func createDefaultConfig() component.Config {
	return &Config{
		Namespace:            "traces.span.metrics",
		MetricsFlushInterval: 60 * time.Second,
		Histogram:            HistogramConfig{Unit: UnitMilliseconds},
	}
}

func createTracesToMetrics(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	// As spanmetrics: collector.instance.id from the collector's resource,
	// else a random one per connector (the collector does not set that key).
	var instanceID string
	if v, ok := set.Resource.Attributes().Get(collectorInstanceIDKey); ok {
		instanceID = v.AsString()
	} else {
		id, err := uuid.NewRandom()
		if err != nil {
			return nil, err
		}
		instanceID = id.String()
	}
	// The clock comes from the context as in spanmetrics, so that tests can
	// drive both connectors with one fake clock.
	c := newConnector(set.TelemetrySettings, cfg.(*Config), clockwork.FromContext(ctx), instanceID, next)
	// A requestmetrics processor of the same ID counts for this connector.
	c.pair = requestpair.For(set.ID)
	c.pair.SetCounter(c)
	return c, nil
}
