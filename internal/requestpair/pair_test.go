package requestpair

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

type countingSpans struct{ spans int }

func (c *countingSpans) CountTraces(td ptrace.Traces) { c.spans += td.SpanCount() }

func (*countingSpans) AttachProcessor() {}

func TestPairIsOnePerID(t *testing.T) {
	a := For(component.MustNewIDWithName("requestmetrics", t.Name()))
	assert.Same(t, a, For(component.MustNewIDWithName("requestmetrics", t.Name())))
	assert.NotSame(t, a, For(component.MustNewIDWithName("requestmetrics", t.Name()+"/other")))
}

func TestCounterIsTheNewestConnectors(t *testing.T) {
	p := For(component.MustNewIDWithName("requestmetrics", t.Name()))
	assert.Nil(t, p.Counter())
	old, newer := &countingSpans{}, &countingSpans{}
	p.SetCounter(old)
	p.SetCounter(newer) // a rebuilt collector's connector
	p.ClearCounter(old) // the old one shut down after the new one was made
	assert.Same(t, newer, p.Counter(), "a connector shut down leaves its successor in place")
	p.ClearCounter(newer)
	assert.Nil(t, p.Counter())
}
