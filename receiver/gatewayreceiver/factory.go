package gatewayreceiver

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver/internal/metadata"
)

// NewFactory returns the gateway receiver's factory.
func NewFactory() receiver.Factory {
	f := &factory{receivers: map[*Config]*gatewayReceiver{}}
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithTraces(f.createTraces, metadata.TracesStability),
		receiver.WithMetrics(f.createMetrics, metadata.MetricsStability),
		receiver.WithLogs(f.createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	otlpDefaults := otlpreceiver.NewFactory().CreateDefaultConfig().(*otlpreceiver.Config)
	return &Config{
		Protocols:          otlpDefaults.Protocols,
		ResourceDefaults:   map[string]string{},
		InstanceIDFromPeer: true,
		GatewayScopes:      []string{layer.ScopeName},
	}
}

// factory shares one receiver, hence one pair of servers, between the
// traces, metrics and logs pipelines that name the same configuration.
type factory struct {
	mu        sync.Mutex
	receivers map[*Config]*gatewayReceiver
}

func (f *factory) receiverFor(set receiver.Settings, cfg *Config) (*gatewayReceiver, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.receivers[cfg]; ok {
		return r, nil
	}
	r, err := newGatewayReceiver(cfg, set, func() {
		f.mu.Lock()
		delete(f.receivers, cfg)
		f.mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	f.receivers[cfg] = r
	return r, nil
}

func (f *factory) createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	r, err := f.receiverFor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	r.nextTraces = next
	return r, nil
}

func (f *factory) createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	r, err := f.receiverFor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	r.nextMetrics = next
	return r, nil
}

func (f *factory) createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r, err := f.receiverFor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	r.nextLogs = next
	return r, nil
}
