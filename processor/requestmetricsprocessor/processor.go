package requestmetricsprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/requestmetricsprocessor"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/requestpair"
)

// countingProcessor hands every batch to the counter of the requestmetrics
// connector of its ID, and the batch on, unchanged.
type countingProcessor struct {
	id   component.ID
	pair *requestpair.Pair
}

func (p *countingProcessor) start(context.Context, component.Host) error {
	// The collector makes every component before it starts any: a
	// connector of this ID has set its counter by now, or there is none.
	c := p.pair.Counter()
	if c == nil {
		return fmt.Errorf("no requestmetrics connector %q is configured: this processor counts its pipeline's spans for the connector of the same name; add that connector under connectors and to this pipeline's exporters", p.id.String())
	}
	c.AttachProcessor()
	return nil
}

func (p *countingProcessor) processTraces(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	// nil only once the connector is shut down, which the collector does
	// after this processor when the connector is among this pipeline's
	// exporters, as the README asks
	if c := p.pair.Counter(); c != nil {
		c.CountTraces(td)
	}
	return td, nil
}
