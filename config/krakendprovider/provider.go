// Package krakendprovider is a confmap provider with the scheme `krakend`:
// `--config krakend:/etc/krakend/krakend.json` runs the collector directly on
// a gateway's configuration file, translated on the fly (config/translate).
// It merges with further --config sources the collector's own way, so that
// what krakend.json cannot name (API keys, a Tempo address) comes from a small
// YAML overlay beside it.
package krakendprovider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
	"github.com/otelcol-gateway/otelcol-gateway/config/translate"
)

// Scheme is the provider's URI scheme.
const Scheme = "krakend"

// NewFactory returns the factory of the `krakend` confmap provider.
func NewFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(set confmap.ProviderSettings) confmap.Provider {
		logger := set.Logger
		if logger == nil {
			logger = zap.NewNop()
		}
		return &provider{logger: logger}
	})
}

// QueueDirEnv names the variable that puts the translated exporters'
// sending queues on disk (translate's --queue-dir).
const QueueDirEnv = "OTELCOL_GATEWAY_QUEUE_DIR"

type provider struct {
	logger *zap.Logger
}

func (p *provider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	path, ok := strings.CutPrefix(uri, Scheme+":")
	if !ok || path == "" {
		return nil, fmt.Errorf("%q: expected krakend:<path to krakend.json>", uri)
	}
	cfg, err := krakend.Load(path)
	if err != nil {
		return nil, oneLine(err)
	}
	res, err := translate.Translate(cfg, translate.Options{QueueDirectory: os.Getenv(QueueDirEnv)})
	if err != nil {
		return nil, oneLine(err)
	}
	for _, w := range res.Warnings {
		p.logger.Warn("krakend.json: "+w.Message, zap.String("path", w.Path), zap.String("file", path))
	}
	for _, v := range res.EnvVars {
		p.logger.Info("the translated configuration reads an environment variable", zap.String("variable", v.Name), zap.String("purpose", v.Purpose))
	}
	return confmap.NewRetrievedFromYAML(res.YAML)
}

func (*provider) Scheme() string { return Scheme }

func (*provider) Shutdown(context.Context) error { return nil }

// oneLine keeps the collector's start-up error to one line: the first
// problem, and how many more there are.
func oneLine(err error) error {
	es := krakend.AsErrors(err)
	if len(es) > 1 {
		return fmt.Errorf("%w (and %d more problems: run `otelcol-gateway translate` to list them)", es[0], len(es)-1)
	}
	if len(es) == 1 {
		return es[0]
	}
	return errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
}
