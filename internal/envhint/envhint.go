// Package envhint names the environment variable behind an exporter's
// configuration error. The translation and the overlays read secrets and
// the X-Ray region from ${env:...} references, which the collector expands
// to "" when the variable is unset; the exporter then refuses the empty
// value in its own words (`exporters::datadog: api.key is not set`, an EC2
// metadata error, or for Azure Monitor nothing until the collector starts),
// which do not say what the user must set. Only names are written, never a
// value.
package envhint // import "github.com/otelcol-gateway/otelcol-gateway/internal/envhint"

import (
	"fmt"
	"regexp"
)

// hint is one exporter's error that an unset variable explains.
type hint struct {
	env string
	// match finds the error; its first group is the exporter's ID
	match *regexp.Regexp
	// what the exporter needs, with %s for the exporter's ID
	need string
}

var hints = []hint{
	{
		env:   "DD_API_KEY",
		match: regexp.MustCompile(`exporters::(datadog(?:/[^:\s]+)?): api\.key is not set`),
		need:  "the datadog exporter needs the API key (exporters::%s::api::key)",
	},
	{
		// the AWS SDK asks the EC2 instance metadata for a region when
		// the configuration and the environment have none
		env:   "AWS_REGION",
		match: regexp.MustCompile(`failed to create "(awsxray(?:/[^"]+)?)" exporter[^:]*: .*(?:ec2imds: GetRegion|cannot fetch region)`),
		need:  "the awsxray exporter needs the region (exporters::%s::region) where no EC2 instance metadata gives it",
	},
	{
		// validate's (NewStartCheckFactory) and the exporter's own at start
		env:   azureConnStringEnv,
		match: regexp.MustCompile(`(?:exporters::|failed to start ")(azuremonitor(?:/[^":\s]+)?)"?[^:]*: ConnectionString and InstrumentationKey cannot be empty`),
		need:  "the azuremonitor exporter needs the connection string (exporters::%s::connection_string)",
	},
}

// Explain returns msg, a collector configuration error on one line, with
// the unset or empty environment variable that explains it named first;
// msg unchanged when no variable does. lookupEnv is os.LookupEnv.
func Explain(msg string, lookupEnv func(string) (string, bool)) string {
	for _, h := range hints {
		m := h.match.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		v, set := lookupEnv(h.env)
		if v != "" {
			continue // set: the empty value came from elsewhere
		}
		state := "is not set"
		if set {
			state = "is empty"
		}
		return fmt.Sprintf("%s %s: %s; %s", h.env, state, fmt.Sprintf(h.need, m[1]), msg)
	}
	return msg
}
