package translate

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ymap builds a YAML mapping in insertion order, so that the output reads in
// the order a person would write it, comments attached.
type ymap struct{ n *yaml.Node }

func newMap() *ymap { return &ymap{&yaml.Node{Kind: yaml.MappingNode}} }

type entry struct{ k, v *yaml.Node }

// expanded is a value the collector must expand, such as an ${env:...}
// reference the translation writes; a plain string is written so that the
// collector reads it literally.
type expanded string

// literal escapes the $ of a value taken from krakend.json: the collector
// expands ${...} in every string value (a "$" is written "$$").
func literal(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// set appends key: v. v is a *ymap, *yaml.Node, string (written literally),
// expanded, int, bool, float64 or []string.
func (m *ymap) set(key string, v any) entry {
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: key}
	vn := toNode(v)
	m.n.Content = append(m.n.Content, k, vn)
	return entry{k, vn}
}

// has tells whether key is already set.
func (m *ymap) has(key string) bool {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		if m.n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// get returns the mapping under key, or nil when key is absent or not a
// mapping.
func (m *ymap) get(key string) *ymap {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		if m.n.Content[i].Value == key && m.n.Content[i+1].Kind == yaml.MappingNode {
			return &ymap{m.n.Content[i+1]}
		}
	}
	return nil
}

// note puts a comment above the key; empty lines are skipped.
func (e entry) note(lines ...string) entry {
	var keep []string
	for _, l := range lines {
		if l != "" {
			keep = append(keep, l)
		}
	}
	if len(keep) > 0 {
		if e.k.HeadComment != "" {
			keep = append([]string{e.k.HeadComment}, keep...)
		}
		e.k.HeadComment = strings.Join(keep, "\n")
	}
	return e
}

// line puts a comment at the end of a scalar value's line.
func (e entry) line(s string) entry {
	if s != "" && e.v.Kind == yaml.ScalarNode {
		e.v.LineComment = s
	}
	return e
}

func toNode(v any) *yaml.Node {
	switch x := v.(type) {
	case *yaml.Node:
		return x
	case *ymap:
		return x.n
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: literal(x)}
	case expanded:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(x)}
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(x)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(x), 10)}
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(x, 'f', -1, 64)}
	case []string:
		s := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, e := range x {
			s.Content = append(s.Content, toNode(e))
		}
		return s
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// blockSeq is a sequence written one item per line.
func blockSeq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

// emptyMap is `{}`.
func emptyMap() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle} }
