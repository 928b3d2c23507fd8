package krakend

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is a decoded JSON value that remembers where it started, so that
// errors can give a line and column as well as a path.
type node struct {
	kind  nodeKind
	off   int
	str   string
	num   json.Number
	b     bool
	keys  []string
	vals  []*node
	elems []*node
}

type nodeKind uint8

const (
	kindNull nodeKind = iota
	kindObject
	kindArray
	kindString
	kindNumber
	kindBool
)

func (k nodeKind) String() string {
	return [...]string{"null", "an object", "an array", "a string", "a number", "a boolean"}[k]
}

// get returns the value of key; the last one wins, as in encoding/json.
func (n *node) get(key string) *node {
	var v *node
	for i, k := range n.keys {
		if k == key {
			v = n.vals[i]
		}
	}
	return v
}

func (n *node) has(key string) bool { return n.get(key) != nil }

// parseTree decodes data into a node tree. It assumes data is valid JSON
// (checkSyntax ran first) but still returns errors rather than panicking.
func parseTree(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := parseNode(dec, data)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one top-level value")
	}
	return root, nil
}

// valueStart skips the whitespace and separators that precede a value.
func valueStart(data []byte, off int64) int {
	i := int(off)
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
		default:
			return i
		}
	}
	return i
}

func parseNode(dec *json.Decoder, data []byte) (*node, error) {
	start := valueStart(data, dec.InputOffset())
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	n := &node{off: start}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.kind = kindObject
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %T", kt)
				}
				v, err := parseNode(dec, data)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, v)
			}
		case '[':
			n.kind = kindArray
			for dec.More() {
				v, err := parseNode(dec, data)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, v)
			}
		default:
			return nil, fmt.Errorf("unexpected %q", t)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.kind, n.str = kindString, t
	case json.Number:
		n.kind, n.num = kindNumber, t
	case bool:
		n.kind, n.b = kindBool, t
	case nil:
		n.kind = kindNull
	default:
		return nil, fmt.Errorf("unexpected token %T", tok)
	}
	return n, nil
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	line = 1 + bytes.Count(data[:off], []byte{'\n'})
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

const (
	renderHint   = "render it first (FC_ENABLE=1 FC_OUT=rendered.json krakend check -c <this file>, with the FC_SETTINGS/FC_PARTIALS/FC_TEMPLATES you run KrakenD with) and translate rendered.json"
	fragmentHint = "it is included by a Flexible Configuration template: render that template (FC_ENABLE=1 FC_OUT=rendered.json krakend check -c <main template>, with your FC_SETTINGS/FC_PARTIALS/FC_TEMPLATES) and translate rendered.json"
)

// checkSyntax reports invalid JSON with line and column, and recognises
// Flexible Configuration templates and comma-separated fragments. A syntax
// error that comes before the first template expression is reported too: it
// would survive rendering.
func checkSyntax(data []byte, source string) Errors {
	var v any
	err := json.Unmarshal(data, &v)
	if err == nil {
		return nil
	}
	off := len(data)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = int(se.Offset) - 1
	}
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(msg, "unexpected end of JSON input") {
		off = len(data)
	}
	syntax := func() *Error {
		line, col := position(data, off)
		reason := "invalid JSON: " + strings.TrimPrefix(msg, "json: ")
		if off >= 0 && off < len(data) {
			switch data[off] {
			case '}', ']':
				reason += " (a trailing comma before it?)"
			case ',':
				reason += " (a stray comma?)"
			}
		}
		return &Error{Source: source, Line: line, Column: col, Kind: KindSyntax, Reason: reason}
	}
	if i := bytes.Index(data, []byte("{{")); i >= 0 {
		line, col := position(data, i)
		tmpl := &Error{Source: source, Line: line, Column: col, Kind: KindTemplate,
			Reason: fmt.Sprintf("this is a KrakenD Flexible Configuration template (%s), not JSON: %s", templateSnippet(data[i:]), renderHint)}
		if off < i {
			return Errors{syntax(), tmpl}
		}
		return Errors{tmpl}
	}
	if strings.Contains(msg, "after top-level value") {
		var first map[string]any
		if dec := json.NewDecoder(bytes.NewReader(data)); dec.Decode(&first) == nil {
			if _, ok := first["endpoint"]; ok {
				line, col := position(data, off)
				return Errors{&Error{Source: source, Line: line, Column: col, Kind: KindFragment,
					Reason: "this is a comma-separated list of endpoints (a fragment for `endpoints`), not a krakend.json: " + fragmentHint}}
			}
		}
	}
	return Errors{syntax()}
}

func templateSnippet(b []byte) string {
	end := bytes.Index(b, []byte("}}"))
	if end < 0 || end > 60 {
		end = min(len(b), 40)
		return "`" + oneLine(b[:end]) + "…`"
	}
	return "`" + oneLine(b[:end+2]) + "`"
}

func oneLine(b []byte) string {
	return strings.Join(strings.Fields(string(bytes.ToValidUTF8(b, nil))), " ")
}
