package deploy

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// collectorConfig is the part of a collector configuration this test reads.
type collectorConfig struct {
	Service struct {
		Pipelines map[string]struct {
			Processors []string `json:"processors"`
			Exporters  []string `json:"exporters"`
		} `json:"pipelines"`
	} `json:"service"`
}

// No collector configuration the project ships puts a `batch` processor in a
// pipeline, except before `awsxray`, which has no queue: the batch processor
// answers the gateway OK for data it only holds in memory, so a crash or a
// destination outage loses it (docs/reliability.md). Exporters batch in their
// sending_queue instead, as the translation writes them.
func TestShippedCollectorConfigsHaveNoBatchProcessor(t *testing.T) {
	var files []string
	for _, dir := range []string{".", filepath.Join(repoRoot, "config", "overlays"), filepath.Join(repoRoot, "config", "defaultconfig")} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	configs := 0
	for _, path := range files {
		for _, doc := range yamlDocuments(t, path) {
			var cfg collectorConfig
			if err := yamlLenient(doc, &cfg); err != nil || len(cfg.Service.Pipelines) == 0 {
				continue // not a collector configuration (a manifest, a dashboard, ...)
			}
			configs++
			for name, p := range cfg.Service.Pipelines {
				for _, proc := range p.Processors {
					if componentType(proc) == "batch" && !hasType(p.Exporters, "awsxray") {
						t.Errorf("%s: pipeline %s has processor %s before exporters %v: batch in their sending_queue instead", rel(path), name, proc, p.Exporters)
					}
				}
			}
		}
	}
	// the default, the four destination overlays, and the compose, sidecar,
	// daemonset, agent and tier configurations
	if configs < 10 {
		t.Errorf("read %d collector configurations of %d YAML files, want at least 10: did the layout change?", configs, len(files))
	}
}

// componentType is the type part of a component ID ("batch" of "batch/xray").
func componentType(id string) string {
	typ, _, _ := strings.Cut(id, "/")
	return typ
}

func hasType(ids []string, typ string) bool {
	for _, id := range ids {
		if componentType(id) == typ {
			return true
		}
	}
	return false
}
