package defaultconfig

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// Scheme is the confmap scheme of the embedded configurations.
const Scheme = "gateway"

// DefaultURI names the embedded default configuration.
const DefaultURI = Scheme + ":default"

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// NewFactory returns the factory of the `gateway` confmap provider.
func NewFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return provider{} })
}

type provider struct{}

func (provider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	name, ok := strings.CutPrefix(uri, Scheme+":")
	if !ok {
		return nil, fmt.Errorf("%q is not a %s: URI", uri, Scheme)
	}
	if name != "default" {
		return nil, fmt.Errorf("%q: no embedded configuration named %q (there is only %q)", uri, name, DefaultURI)
	}
	return confmap.NewRetrievedFromYAML(defaultYAML)
}

func (provider) Scheme() string { return Scheme }

func (provider) Shutdown(context.Context) error { return nil }
