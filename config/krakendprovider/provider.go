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
// sending queues on disk there, as `translate --queue-dir` does; an
// overlay's exporters follow through `storage: ${krakend:?queue_storage}`
// (QueueStorageURI), which is the same storage then and none otherwise.
// `?destination=datadog` (or OTELCOL_GATEWAY_DESTINATIONS=datadog) adds a
// destination krakend.json cannot name, as `translate --destination` does.
// `?sampling=gateway` (or OTELCOL_GATEWAY_SAMPLING=gateway) leaves sampling
// to the gateway, as `translate --sampling gateway` does; the URI wins (the
// variable is then not read: an invalid value is only warned of).
package krakendprovider

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

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

// DestinationsEnv names the environment variable that lists, comma-separated,
// destinations to add to the translation (translate's --destination).
const DestinationsEnv = "OTELCOL_GATEWAY_DESTINATIONS"

// destinationOption is the URI's query option naming one such destination.
const destinationOption = "destination"

// SamplingEnv names the environment variable that says where the sample
// rate is applied (translate's --sampling).
const SamplingEnv = "OTELCOL_GATEWAY_SAMPLING"

// samplingOption is the URI's query option for the same.
const samplingOption = "sampling"

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
	// queueStorageDeclared: a krakend: URI of this configuration was
	// translated with QueueDirEnv set, so the storage extension exists.
	queueStorageDeclared atomic.Bool
}

// QueueStorageURI is what an overlay writes as its exporter's
// sending_queue.storage, `${krakend:?queue_storage}`: the translation's
// storage extension when a krakend: URI of the same configuration declared
// it (QueueDirEnv set), else nothing (an in-memory queue). Overlays are
// plain YAML merged by the collector, which the translation never sees;
// this is how their queues follow. The collector retrieves every --config
// before it expands references, so the order of the URIs does not matter;
// a file written by `translate --queue-dir` declares the storage without
// this provider knowing, and its overlays' queues stay in memory rather
// than name a storage that may not exist.
const QueueStorageURI = Scheme + ":?queue_storage"

func (p *provider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	if uri == QueueStorageURI {
		if !p.queueStorageDeclared.Load() {
			return confmap.NewRetrieved(nil)
		}
		return confmap.NewRetrieved(translate.QueueStorage)
	}
	u, err := parseURI(uri, os.Getenv(CollectorHostsEnv), os.Getenv(DestinationsEnv), os.Getenv(SamplingEnv))
	if err != nil {
		return nil, err
	}
	for _, w := range u.warnings {
		p.logger.Warn(w, zap.String("uri", uri))
	}
	cfg, err := krakend.Load(u.path)
	if err != nil {
		return nil, oneLine(err)
	}
	queueDir := os.Getenv(QueueDirEnv)
	res, err := translate.Translate(cfg, translate.Options{CollectorHosts: u.hosts, QueueDirectory: queueDir, Destinations: u.destinations, Sampling: u.sampling})
	if err != nil {
		return nil, oneLine(err)
	}
	if queueDir != "" {
		p.queueStorageDeclared.Store(true)
	}
	for _, w := range res.Warnings {
		p.logger.Warn("krakend.json: "+w.Message, zap.String("path", w.Path), zap.String("file", u.path))
	}
	for _, v := range res.EnvVars {
		p.logger.Info("the translated configuration reads an environment variable", zap.String("variable", v.Name), zap.String("purpose", v.Purpose))
	}
	return confmap.NewRetrievedFromYAML(res.YAML)
}

// parsedURI is what a krakend: URI says.
type parsedURI struct {
	path         string
	hosts        []string // names that mean this collector, the environment's first
	destinations []string // the environment's first
	sampling     string   // the URI's, else the environment's
	warnings     []string // an environment variable the URI overrides is invalid
}

// parseURI splits krakend:<path>[?collector_host=<host>...][&destination=<name>...][&sampling=<where>]
// into its parts, adding the environment's lists.
func parseURI(uri, envHosts, envDestinations, envSampling string) (parsedURI, error) {
	rest, ok := strings.CutPrefix(uri, Scheme+":")
	path, query, _ := strings.Cut(rest, "?")
	if !ok || path == "" {
		return parsedURI{}, fmt.Errorf("%q: expected krakend:<path to krakend.json>[?%s=<host>][&%s=<name>][&%s=<where>]", uri, collectorHostOption, destinationOption, samplingOption)
	}
	u := parsedURI{path: path, hosts: splitList(envHosts), destinations: splitList(envDestinations), sampling: strings.TrimSpace(envSampling)}
	for _, d := range u.destinations {
		if err := translate.CheckDestination(d); err != nil {
			return parsedURI{}, fmt.Errorf("%s: %w", DestinationsEnv, err)
		}
	}
	envSamplingErr := translate.CheckSampling(u.sampling)
	values, err := url.ParseQuery(query)
	if err != nil {
		return parsedURI{}, fmt.Errorf("%q: options after \"?\": %w", uri, err)
	}
	if vs, ok := values[samplingOption]; ok {
		if len(vs) != 1 || vs[0] == "" {
			return parsedURI{}, fmt.Errorf("%q: %s takes one value, %s or %s", uri, samplingOption, translate.SamplingCollector, translate.SamplingGateway)
		}
		if err := translate.CheckSampling(vs[0]); err != nil {
			return parsedURI{}, fmt.Errorf("%q: %w", uri, err)
		}
		u.sampling = vs[0]
		delete(values, samplingOption)
		if envSamplingErr != nil {
			// the URI wins: the variable is not read, though likely a mistake
			u.warnings = append(u.warnings, fmt.Sprintf("%s is ignored, the URI's %s=%s wins: %v", SamplingEnv, samplingOption, vs[0], envSamplingErr))
		}
	} else if envSamplingErr != nil {
		return parsedURI{}, fmt.Errorf("%s: %w", SamplingEnv, envSamplingErr)
	}
	for key, vs := range values {
		if key != collectorHostOption && key != destinationOption {
			return parsedURI{}, fmt.Errorf("%q: unknown option %q (the options are %s=<host>, %s=<name> and %s=<where>)", uri, key, collectorHostOption, destinationOption, samplingOption)
		}
		for _, v := range vs {
			list := splitList(v)
			if len(list) == 0 {
				what := "a host name"
				if key == destinationOption {
					what = "a name (" + strings.Join(translate.KnownDestinations(), ", ") + ")"
				}
				return parsedURI{}, fmt.Errorf("%q: %s needs %s", uri, key, what)
			}
			if key == collectorHostOption {
				u.hosts = append(u.hosts, list...)
				continue
			}
			for _, d := range list {
				if err := translate.CheckDestination(d); err != nil {
					return parsedURI{}, fmt.Errorf("%q: %w", uri, err)
				}
			}
			u.destinations = append(u.destinations, list...)
		}
	}
	return u, nil
}

func splitList(list string) []string {
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
