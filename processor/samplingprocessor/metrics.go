package samplingprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// processMetrics passes metrics through untouched: counts must stay exact
// (DESIGN.md section 5). It exists so the processor may sit in any pipeline.
func processMetrics(_ context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	return md, nil
}
