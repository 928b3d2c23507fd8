package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// repoRoot is the repository's root: this module sits in deploy/.
const repoRoot = ".."

// designPath is DESIGN.md, beside the repository (the project's tests read
// ../shared the same way).
const designPath = "../../shared/DESIGN.md"

// docSeparator is a YAML document separator line.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// yamlDocuments splits a YAML stream into its documents, as written (so that
// the strict decoder still sees duplicate keys), skipping empty ones.
func yamlDocuments(t *testing.T, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, part := range docSeparator.Split(string(raw), -1) {
		var v any
		if err := yaml.Unmarshal([]byte(part), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if v != nil {
			docs = append(docs, []byte(part))
		}
	}
	return docs
}

// strictYAML decodes one YAML document into v, refusing unknown fields and
// duplicate keys: a misspelt field is an error, not a silently ignored one.
func strictYAML(t *testing.T, where string, doc []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

// strictYAMLFile decodes a single-document YAML file strictly.
func strictYAMLFile(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	strictYAML(t, path, raw, v)
}

func mustExist(t *testing.T, path, why string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("%s: %v", why, err)
	}
}

func rel(path string) string {
	if r, err := filepath.Rel(repoRoot, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// yamlLenient decodes YAML ignoring fields v does not declare: for files of
// other tools that this module reads only a part of.
func yamlLenient(raw []byte, v any) error {
	return yaml.Unmarshal(raw, v)
}
