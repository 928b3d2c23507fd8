// Package dedupconverter is a confmap converter that keeps the collector
// from handing the same data to an exporter twice through two pipelines.
//
// Two pipelines of one signal that share an exporter, where one (p) takes
// its data only from receivers the other (q) takes too, and runs q's
// processors (then possibly more), hand that exporter every item p keeps
// twice: an overlay's pipeline merged over a translation that already has
// it (the Datadog overlay on a krakend.json that names Datadog, or run with
// ?destination=datadog, counted every hit twice). The converter removes the
// shared exporters from p, and p itself when nothing is left of it, and logs
// a warning that names both pipelines. The exporter still gets every item
// through q; what p's further processors did (a sampler that keeps
// everything, in the Datadog case) it no longer sees, which is the price of
// not losing data. Pipelines whose processors differ otherwise are left as
// they are: they may mean to send different data.
package dedupconverter // import "github.com/otelcol-gateway/otelcol-gateway/config/dedupconverter"

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

// NewFactory returns the converter's factory, for the distribution's
// ConverterFactories.
func NewFactory() confmap.ConverterFactory {
	return confmap.NewConverterFactory(func(set confmap.ConverterSettings) confmap.Converter {
		logger := set.Logger
		if logger == nil {
			logger = zap.NewNop()
		}
		return &converter{logger: logger}
	})
}

type converter struct{ logger *zap.Logger }

const pipelinesKey = "service::pipelines"

// pipeline is the part of a pipeline's configuration the converter reads.
type pipeline struct {
	name, signal                     string
	receivers, processors, exporters []string
	readable                         bool
}

func (c *converter) Convert(_ context.Context, conf *confmap.Conf) error {
	raw, ok := conf.Get(pipelinesKey).(map[string]any)
	if !ok || len(raw) < 2 {
		return nil
	}
	pipes := make([]*pipeline, 0, len(raw))
	for name, v := range raw {
		pipes = append(pipes, readPipeline(name, v))
	}
	// Later names first: of two pipelines that repeat each other wholly,
	// the one with the later name goes (metrics/datadog, not metrics).
	sort.Slice(pipes, func(i, j int) bool { return pipes[i].name > pipes[j].name })

	// First whole pipelines whose every exporter another pipeline feeds the
	// same data: removing them also spares their processors' work.
	for _, p := range pipes {
		if q := repeatedBy(p, pipes, true); q != nil {
			c.logger.Warn("the collector would hand the same data twice to the same exporters: pipeline removed",
				zap.String("removed", p.name), zap.String("kept", q.name), zap.Strings("exporters", p.exporters),
				zap.String("why", describe(p, q)))
			conf.Delete(pipelinesKey + confmap.KeyDelimiter + p.name)
			p.readable = false
		}
	}
	// Then the shared exporters of pipelines that also send elsewhere.
	for _, p := range pipes {
		for q := repeatedBy(p, pipes, false); q != nil; q = repeatedBy(p, pipes, false) {
			shared := sharedExporters(p, q)
			c.logger.Warn("the collector would hand the same data twice to the same exporters: exporters removed from one pipeline",
				zap.String("from", p.name), zap.String("kept_in", q.name), zap.Strings("exporters", shared),
				zap.String("why", describe(p, q)))
			p.exporters = slices.DeleteFunc(p.exporters, func(e string) bool { return slices.Contains(shared, e) })
			// Delete first: a merge with the append gate on would add the
			// list to the old one.
			key := pipelinesKey + confmap.KeyDelimiter + p.name + confmap.KeyDelimiter + "exporters"
			conf.Delete(key)
			if err := conf.Merge(confmap.NewFromStringMap(map[string]any{
				"service": map[string]any{"pipelines": map[string]any{p.name: map[string]any{"exporters": toAny(p.exporters)}}},
			})); err != nil {
				return fmt.Errorf("pipeline %s: %w", p.name, err)
			}
		}
	}
	return nil
}

// repeatedBy returns a pipeline q that hands p's data to p's exporters as
// well, all of them (whole) or some: q takes all p receives, and p's
// processors begin with q's, so that q's output holds every item of p's
// (before p's further processors).
func repeatedBy(p *pipeline, pipes []*pipeline, whole bool) *pipeline {
	if !p.readable || len(p.receivers) == 0 || len(p.exporters) == 0 {
		return nil
	}
	for _, q := range pipes {
		if q == p || !q.readable || q.signal != p.signal || !startsWith(p.processors, q.processors) || !subset(p.receivers, q.receivers) {
			continue
		}
		shared := sharedExporters(p, q)
		if whole && len(shared) == len(p.exporters) || !whole && len(shared) > 0 {
			return q
		}
	}
	return nil
}

func describe(p, q *pipeline) string {
	return fmt.Sprintf("%s and %s both take what %s receive, through [%s] and [%s]", p.name, q.name,
		strings.Join(p.receivers, ", "), strings.Join(p.processors, ", "), strings.Join(q.processors, ", "))
}

func sharedExporters(p, q *pipeline) []string {
	var shared []string
	for _, e := range p.exporters {
		if slices.Contains(q.exporters, e) && !slices.Contains(shared, e) {
			shared = append(shared, e)
		}
	}
	return shared
}

func startsWith(list, prefix []string) bool {
	return len(prefix) <= len(list) && slices.Equal(list[:len(prefix)], prefix)
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// readPipeline reads the component lists of a pipeline. A pipeline the
// converter cannot read is left to the collector, which reports it.
func readPipeline(name string, v any) *pipeline {
	p := &pipeline{name: name, signal: name}
	if i := strings.IndexByte(name, '/'); i >= 0 {
		p.signal = name[:i]
	}
	m, ok := v.(map[string]any)
	if !ok {
		return p
	}
	var okR, okP, okE bool
	p.receivers, okR = componentIDs(m["receivers"])
	p.processors, okP = componentIDs(m["processors"])
	p.exporters, okE = componentIDs(m["exporters"])
	p.readable = okR && okP && okE
	return p
}

// componentIDs reads a list of component IDs; an absent list is empty.
func componentIDs(v any) ([]string, bool) {
	if v == nil {
		return nil, true
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
