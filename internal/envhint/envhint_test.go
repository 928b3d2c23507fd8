package envhint

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The collector expands an unset ${env:DD_API_KEY} or ${env:AWS_REGION} (the
// translation's and the overlays' references) to "", and the exporters then
// fail without naming the variable. These are their messages, as
// `otelcol-gateway validate` printed them (one line).
const (
	datadogNoKey    = `exporters::datadog: api.key is not set`
	datadogNamedKey = `exporters::datadog/eu: api.key is not set`
	xrayNoRegion    = `failed to build pipelines: failed to create "awsxray" exporter for data type "traces": operation error ec2imds: GetRegion, http response error StatusCode: 403, request to EC2 IMDS failed`
	xrayNoRegionAWS = `failed to build pipelines: failed to create "awsxray/x" exporter for data type "traces": cannot fetch region variable from config file, environment variables and ec2 metadata`
	// the azuremonitor exporter reads its connection string only when it
	// starts: validate's message comes from NewStartCheckFactory, the
	// collector's own from the exporter's Start
	azureValidate      = `failed to get config: cannot resolve the configuration: cannot convert the confmap.Conf: exporters::azuremonitor: ConnectionString and InstrumentationKey cannot be empty (the exporter would refuse to start)`
	azureNamedValidate = `failed to get config: cannot resolve the configuration: cannot convert the confmap.Conf: exporters::azuremonitor/eu: ConnectionString and InstrumentationKey cannot be empty (the exporter would refuse to start)`
	azureStart         = `cannot start pipelines: failed to start "azuremonitor" exporter: ConnectionString and InstrumentationKey cannot be empty`
)

func TestTheVariableBehindAnExportersErrorIsNamedFirst(t *testing.T) {
	const secret = "s3cr3t-value"
	tests := []struct {
		name string
		msg  string
		env  map[string]string
		want string // the whole message
	}{
		{"datadog without DD_API_KEY", datadogNoKey, nil,
			"DD_API_KEY is not set: the datadog exporter needs the API key (exporters::datadog::api::key); " + datadogNoKey},
		{"a named datadog exporter", datadogNamedKey, map[string]string{"DD_API_KEY": ""},
			"DD_API_KEY is empty: the datadog exporter needs the API key (exporters::datadog/eu::api::key); " + datadogNamedKey},
		{"x-ray without AWS_REGION", xrayNoRegion, nil,
			"AWS_REGION is not set: the awsxray exporter needs the region (exporters::awsxray::region) where no EC2 instance metadata gives it; " + xrayNoRegion},
		{"a named x-ray exporter, the AWS SDK's message", xrayNoRegionAWS, nil,
			"AWS_REGION is not set: the awsxray exporter needs the region (exporters::awsxray/x::region) where no EC2 instance metadata gives it; " + xrayNoRegionAWS},
		{"azure monitor without APPLICATIONINSIGHTS_CONNECTION_STRING, from validate", azureValidate, nil,
			"APPLICATIONINSIGHTS_CONNECTION_STRING is not set: the azuremonitor exporter needs the connection string (exporters::azuremonitor::connection_string); " + azureValidate},
		{"a named azure monitor exporter, from validate", azureNamedValidate, map[string]string{"APPLICATIONINSIGHTS_CONNECTION_STRING": ""},
			"APPLICATIONINSIGHTS_CONNECTION_STRING is empty: the azuremonitor exporter needs the connection string (exporters::azuremonitor/eu::connection_string); " + azureNamedValidate},
		{"azure monitor without APPLICATIONINSIGHTS_CONNECTION_STRING, at start", azureStart, nil,
			"APPLICATIONINSIGHTS_CONNECTION_STRING is not set: the azuremonitor exporter needs the connection string (exporters::azuremonitor::connection_string); " + azureStart},
		// the key is there, so something else emptied it: no hint, and never the value
		{"datadog with DD_API_KEY set", datadogNoKey, map[string]string{"DD_API_KEY": secret}, datadogNoKey},
		{"x-ray with AWS_REGION set", xrayNoRegion, map[string]string{"AWS_REGION": "eu-west-1"}, xrayNoRegion},
		{"azure monitor with APPLICATIONINSIGHTS_CONNECTION_STRING set", azureStart, map[string]string{"APPLICATIONINSIGHTS_CONNECTION_STRING": secret}, azureStart},
		{"another error", `'receivers' unknown type: "nope"`, nil, `'receivers' unknown type: "nope"`},
		{"another awsxray error", `failed to create "awsxray" exporter for data type "traces": bad proxy`, nil, `failed to create "awsxray" exporter for data type "traces": bad proxy`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(name string) (string, bool) {
				v, ok := tt.env[name]
				return v, ok
			}
			got := Explain(tt.msg, lookup)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, secret)
		})
	}
}
