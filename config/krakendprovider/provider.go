// Package krakendprovider is a confmap provider with the scheme `krakend`:
// `--config krakend:/etc/krakend/krakend.json` runs the collector directly on
// a gateway's configuration file, translated on the fly (config/translate).
// It merges with further --config sources the collector's own way, so that
// what krakend.json cannot name (API keys, a Tempo address) comes from a small
// YAML overlay beside it.
//
// The gateway's exporters.otlp[] entries whose host means this collector
// become its receiver; the others are destinations to forward to. localhost,
// 127.0.0.1, ::1 and 0.0.0.0 always mean the collector; more names (a compose
// service name, a Kubernetes Service, a host alias) come from the URI,
// `krakend:/etc/krakend/krakend.json?collector_host=otelcol` (repeatable,
// or comma-separated), and from the environment variable
// OTELCOL_GATEWAY_COLLECTOR_HOSTS (comma-separated), as `translate
// --collector-host` takes them. OTELCOL_GATEWAY_QUEUE_DIR puts the exporters'
// sending queues on disk there, as `translate --queue-dir` does.
package krakendprovider

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
	"github.com/otelcol-gateway/otelcol-gateway/config/translate"
)

// Scheme is the provider's URI scheme.
const Scheme = "krakend"

// CollectorHostsEnv names the environment variable that lists, comma-separated,
// more host names meaning this collector in exporters.otlp[].host.
const CollectorHostsEnv = "OTELCOL_GATEWAY_COLLECTOR_HOSTS"

// collectorHostOption is the URI's query option naming one more such host.
const collectorHostOption = "collector_host"

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
	path, hosts, err := parseURI(uri, os.Getenv(CollectorHostsEnv))
	if err != nil {
		return nil, err
	}
	cfg, err := krakend.Load(path)
	if err != nil {
		return nil, oneLine(err)
	}
	res, err := translate.Translate(cfg, translate.Options{CollectorHosts: hosts, QueueDirectory: os.Getenv(QueueDirEnv)})
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

// parseURI splits krakend:<path>[?collector_host=<host>...] into the path
// and the host names that mean this collector, the environment's first.
func parseURI(uri, envHosts string) (path string, hosts []string, err error) {
	rest, ok := strings.CutPrefix(uri, Scheme+":")
	path, query, _ := strings.Cut(rest, "?")
	if !ok || path == "" {
		return "", nil, fmt.Errorf("%q: expected krakend:<path to krakend.json>[?%s=<host>]", uri, collectorHostOption)
	}
	hosts = splitHosts(envHosts)
	values, err := url.ParseQuery(query)
	if err != nil {
		return "", nil, fmt.Errorf("%q: options after \"?\": %w", uri, err)
	}
	for key, vs := range values {
		if key != collectorHostOption {
			return "", nil, fmt.Errorf("%q: unknown option %q (the only option is %s=<host>)", uri, key, collectorHostOption)
		}
		for _, v := range vs {
			h := splitHosts(v)
			if len(h) == 0 {
				return "", nil, fmt.Errorf("%q: %s needs a host name", uri, collectorHostOption)
			}
			hosts = append(hosts, h...)
		}
	}
	return path, hosts, nil
}

func splitHosts(list string) []string {
	var hosts []string
	for _, h := range strings.Split(list, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
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
