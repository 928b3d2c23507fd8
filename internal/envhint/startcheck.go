package envhint

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// NewStartCheckFactory returns a converter for `validate` that refuses a
// configuration an exporter would refuse only when it starts. validate
// creates the pipelines' components but starts none, and the azuremonitor
// exporter reads its connection string in Start: with
// APPLICATIONINSIGHTS_CONNECTION_STRING unset, validate passed the Azure
// Monitor overlay and the collector then stopped at start. The error has
// the exporter's own words, which Explain recognises; it names no value.
// lookupEnv is os.LookupEnv (the exporter reads the process environment).
func NewStartCheckFactory(lookupEnv func(string) (string, bool)) confmap.ConverterFactory {
	return confmap.NewConverterFactory(func(confmap.ConverterSettings) confmap.Converter {
		return startCheck{lookupEnv: lookupEnv}
	})
}

type startCheck struct {
	lookupEnv func(string) (string, bool)
}

// azureConnStringEnv is what the azuremonitor exporter reads first, before
// its connection_string and instrumentation_key.
const azureConnStringEnv = "APPLICATIONINSIGHTS_CONNECTION_STRING"

func (c startCheck) Convert(_ context.Context, conf *confmap.Conf) error {
	for _, id := range usedExporters(conf) {
		if typ, _, _ := strings.Cut(id, "/"); typ != "azuremonitor" {
			continue
		}
		if v, _ := c.lookupEnv(azureConnStringEnv); v != "" {
			return nil // the exporter takes it for every azuremonitor exporter
		}
		key := "exporters" + confmap.KeyDelimiter + id + confmap.KeyDelimiter
		if isEmpty(conf.Get(key+"connection_string")) && isEmpty(conf.Get(key+"instrumentation_key")) {
			return fmt.Errorf("exporters::%s: ConnectionString and InstrumentationKey cannot be empty (the exporter would refuse to start)", id)
		}
	}
	return nil
}

// usedExporters returns the exporters some pipeline names, sorted: the
// collector neither creates nor starts the others.
func usedExporters(conf *confmap.Conf) []string {
	pipelines, _ := conf.Get("service" + confmap.KeyDelimiter + "pipelines").(map[string]any)
	seen := map[string]bool{}
	for _, p := range pipelines {
		m, _ := p.(map[string]any)
		list, _ := m["exporters"].([]any)
		for _, e := range list {
			if id, ok := e.(string); ok {
				seen[id] = true
			}
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// isEmpty tells an unset or empty value (an unset ${env:...} expands to "").
func isEmpty(v any) bool {
	return v == nil || v == ""
}
