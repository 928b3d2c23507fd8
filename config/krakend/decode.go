package krakend

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Load reads and parses a krakend.json file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return Parse(data, path)
}

// Parse decodes the telemetry parts of a krakend.json, applies KrakenD's
// defaults and validates them. source names the file in messages. The error,
// when not nil, is an *Error or Errors.
func Parse(data []byte, source string) (*Config, error) {
	if source == "" {
		source = "krakend.json"
	}
	if es := checkSyntax(data, source); len(es) == 1 {
		return nil, es[0]
	} else if len(es) > 1 {
		return nil, es
	}
	root, err := parseTree(data)
	if err != nil {
		return nil, &Error{Source: source, Kind: KindSyntax, Reason: "invalid JSON: " + err.Error()}
	}
	d := &decoder{src: source, data: data}
	cfg := &Config{Source: source}
	if !d.fragment(root, cfg) {
		d.root(root, cfg)
	}
	switch len(d.errs) {
	case 0:
		return cfg, nil
	case 1:
		return nil, d.errs[0]
	default:
		return nil, d.errs
	}
}

type decoder struct {
	src  string
	data []byte
	errs Errors
	// exporter names of the OpenTelemetry namespace, for exporters_override.
	exporterNames []string
	overrides     []pendingOverride
}

type pendingOverride struct {
	n     *node
	path  string
	names []string
}

func (d *decoder) fail(n *node, path string, kind Kind, format string, args ...any) {
	e := &Error{Source: d.src, Path: path, Kind: kind, Reason: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = position(d.data, n.off)
	}
	d.errs = append(d.errs, e)
}

// child appends an object key to a JSON path.
func child(path, key string) string {
	if isIdent(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || (i > 0 && '0' <= c && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// isComment: keys starting with these are documentation, accepted anywhere.
func isComment(key string) bool {
	return key != "" && strings.ContainsRune("@$_#", rune(key[0]))
}

// ---- scalars --------------------------------------------------------------

func describe(n *node, secret bool) string {
	if secret && (n.kind == kindString || n.kind == kindNumber) {
		return n.kind.String() // never echo a credential
	}
	switch n.kind {
	case kindString:
		s := n.str
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return "string " + strconv.Quote(s)
	case kindNumber:
		return "number " + n.num.String()
	case kindBool:
		return "boolean " + strconv.FormatBool(n.b)
	}
	return n.kind.String()
}

func (d *decoder) expect(n *node, path, want string, secret bool) {
	d.fail(n, path, KindType, "expected %s, got %s", want, describe(n, secret))
}

func (d *decoder) str(n *node, path string, dst *string) bool {
	switch n.kind {
	case kindNull:
		return false
	case kindString:
		*dst = n.str
		return true
	}
	d.expect(n, path, "a string", false)
	return false
}

func (d *decoder) secret(n *node, path string, dst *Secret) bool {
	switch n.kind {
	case kindNull:
		return false
	case kindString:
		*dst = Secret(n.str)
		return true
	}
	d.expect(n, path, "a string", true)
	return false
}

func (d *decoder) boolean(n *node, path string, dst *bool) bool {
	switch n.kind {
	case kindNull:
		return false
	case kindBool:
		*dst = n.b
		return true
	}
	d.expect(n, path, "a boolean (true or false)", false)
	return false
}

func (d *decoder) integer(n *node, path string, dst *int) bool {
	switch n.kind {
	case kindNull:
		return false
	case kindNumber:
		i, err := strconv.ParseInt(n.num.String(), 10, 64)
		if err == nil && i >= math.MinInt32 && i <= math.MaxInt32 {
			*dst = int(i)
			return true
		}
		var ne *strconv.NumError
		if err == nil || (errors.As(err, &ne) && ne.Err == strconv.ErrRange) {
			d.fail(n, path, KindRange, "%s is too large", n.num.String())
			return false
		}
		// 4317.0 and 1.5e1 are integers too: the gateway reads extra_config
		// into float64 before its structs, so it takes them.
		if f, err := n.num.Float64(); err == nil && f == math.Trunc(f) {
			if f < math.MinInt32 || f > math.MaxInt32 {
				d.fail(n, path, KindRange, "%s is too large", n.num.String())
				return false
			}
			*dst = int(f)
			return true
		}
	}
	d.expect(n, path, "an integer", false)
	return false
}

func (d *decoder) number(n *node, path string, dst *float64) bool {
	switch n.kind {
	case kindNull:
		return false
	case kindNumber:
		f, err := n.num.Float64()
		if err != nil || math.IsInf(f, 0) {
			d.fail(n, path, KindRange, "%s is too large", n.num.String())
			return false
		}
		*dst = f
		return true
	}
	d.expect(n, path, "a number", false)
	return false
}

func (d *decoder) strings(n *node, path string, dst *[]string) bool {
	switch n.kind {
	case kindNull:
		return false
	case kindArray:
		out := make([]string, 0, len(n.elems))
		for i, e := range n.elems {
			var s string
			if d.str(e, index(path, i), &s) {
				out = append(out, s)
			} else if e.kind == kindNull {
				d.expect(e, index(path, i), "a string", false)
			}
		}
		*dst = out
		return true
	}
	d.expect(n, path, "an array of strings", false)
	return false
}

// stringMap reads an object of scalars; values are kept as text.
func (d *decoder) stringMap(n *node, path string, dst *map[string]string) bool {
	switch n.kind {
	case kindNull:
		return false
	case kindObject:
		m := make(map[string]string, len(n.keys))
		for i, k := range n.keys {
			v := n.vals[i]
			switch v.kind {
			case kindString:
				m[k] = v.str
			case kindNumber:
				m[k] = v.num.String()
			case kindBool:
				m[k] = strconv.FormatBool(v.b)
			default:
				d.expect(v, child(path, k), "a string, number or boolean", false)
			}
		}
		*dst = m
		return true
	}
	d.expect(n, path, "an object", false)
	return false
}

func (d *decoder) secretMap(n *node, path string, dst *map[string]Secret) bool {
	switch n.kind {
	case kindNull:
		return false
	case kindObject:
		m := make(map[string]Secret, len(n.keys))
		for i, k := range n.keys {
			var s Secret
			if d.secret(n.vals[i], child(path, k), &s) {
				m[k] = s
			}
		}
		*dst = m
		return true
	}
	d.expect(n, path, "an object", true)
	return false
}

func (d *decoder) attributes(n *node, path string, dst *[]Attribute) bool {
	switch n.kind {
	case kindNull:
		return false
	case kindArray:
		out := make([]Attribute, 0, len(n.elems))
		for i, e := range n.elems {
			var a Attribute
			p := index(path, i)
			if e.kind != kindObject {
				d.expect(e, p, `an object {"key": …, "value": …}`, false)
				continue
			}
			d.object(e, p, fields{
				"key":   func(v *node, p string) { d.str(v, p, &a.Key) },
				"value": func(v *node, p string) { d.str(v, p, &a.Value) },
			}, map[string]string{"name": "did you mean `key`?"})
			out = append(out, a)
		}
		*dst = out
		return true
	}
	if n.kind == kindObject {
		d.fail(n, path, KindType, `expected an array of {"key": …, "value": …} objects, got an object (a map is not accepted)`)
		return false
	}
	d.expect(n, path, `an array of {"key": …, "value": …} objects`, false)
	return false
}

func (d *decoder) port(n *node, path string, dst *int, def int) {
	var p int
	if !d.integer(n, path, &p) {
		return
	}
	if p < 1 || p > 65535 {
		hint := ""
		if p == 0 && def > 0 {
			hint = fmt.Sprintf(" (omit it for the default %d)", def)
		}
		d.fail(n, path, KindRange, "%d is out of range 1..65535%s", p, hint)
		return
	}
	*dst = p
}

// ---- objects --------------------------------------------------------------

type fields map[string]func(n *node, path string)

func (fs fields) names() []string {
	out := make([]string, 0, len(fs))
	for k := range fs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// object decodes n with one handler per known key. Unknown keys are errors,
// explained by hints when known, else with a did-you-mean. It returns false
// when n is null or not an object.
func (d *decoder) object(n *node, path string, fs fields, hints map[string]string) bool {
	if n.kind == kindNull {
		return false
	}
	if n.kind != kindObject {
		d.expect(n, path, "an object", false)
		return false
	}
	for i, k := range n.keys {
		v, p := n.vals[i], child(path, k)
		if f, ok := fs[k]; ok {
			f(v, p)
			continue
		}
		if isComment(k) {
			continue
		}
		d.unknown(v, p, k, fs, hints)
	}
	return true
}

func (d *decoder) unknown(n *node, path, key string, fs fields, hints map[string]string) {
	if h, ok := hints[key]; ok {
		d.fail(n, path, KindUnknownField, "unknown field: %s", h)
		return
	}
	names := fs.names()
	if s := suggest(key, names); s != "" {
		d.fail(n, path, KindUnknownField, "unknown field; did you mean `%s`?", s)
		return
	}
	d.fail(n, path, KindUnknownField, "unknown field (known here: %s)", strings.Join(names, ", "))
}
