package startuppagesextension // import "github.com/otelcol-gateway/otelcol-gateway/extension/startuppagesextension"

// Config has no settings: the extension is on when it is listed in
// service::extensions.
type Config struct{}

// Validate accepts the empty configuration; unknown keys are refused when the
// configuration is unmarshalled.
func (*Config) Validate() error { return nil }
