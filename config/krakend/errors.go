package krakend

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies a problem so that callers (and tests) can branch on it
// without parsing messages.
type Kind uint8

const (
	KindSyntax       Kind = iota + 1 // not JSON
	KindTemplate                     // an unrendered Flexible Configuration template
	KindFragment                     // a piece of a krakend.json, not a whole one
	KindType                         // a value of the wrong JSON type
	KindUnknownField                 // a key the gateway does not read
	KindRange                        // a value outside what the gateway accepts
	KindRequired                     // a required value is missing
	KindDuplicate                    // a name used twice
	KindUnsupported                  // valid JSON the gateway cannot run (or we cannot translate)
)

var kindNames = [...]string{"", "syntax", "template", "fragment", "type", "unknown field", "range", "required", "duplicate", "unsupported"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is one problem in a krakend.json, located by JSON path and, when
// known, by line and column.
type Error struct {
	Source string // the file name as given to Parse
	Path   string // JSON path, e.g. extra_config["telemetry/opencensus"].sample_rate; empty for syntax errors
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based byte column; 0 when unknown
	Kind   Kind
	Reason string // one line; never holds a secret value
}

// Error renders `file: path: reason`, or `file:line:col: reason` when the
// problem has no JSON path (syntax, templates).
func (e *Error) Error() string {
	src := e.Source
	if src == "" {
		src = "krakend.json"
	}
	if e.Path == "" {
		if e.Line > 0 {
			return fmt.Sprintf("%s:%d:%d: %s", src, e.Line, e.Column, e.Reason)
		}
		return fmt.Sprintf("%s: %s", src, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", src, e.Path, e.Reason)
}

// Errors is every problem found in one file, in document order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// AsErrors returns every *Error inside err (a single *Error, Errors, or a
// wrapped one); nil when there is none.
func AsErrors(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return nil
}

// HasKind reports whether err holds a problem of kind k.
func HasKind(err error, k Kind) bool {
	for _, e := range AsErrors(err) {
		if e.Kind == k {
			return true
		}
	}
	return false
}
