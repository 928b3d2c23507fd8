package defaultconfig

import "strings"

// mergeAppendGate makes the collector add the lists of later --config sources
// to earlier ones instead of replacing them.
const mergeAppendGate = "confmap.enableMergeAppendOption"

// WithDefaultConfig adds `--config gateway:default` to a collector command
// line that asks to run (or validate) with no --config of its own, so that
// the bare binary starts on the embedded default configuration.
func WithDefaultConfig(args []string) []string {
	if len(args) == 0 {
		return args
	}
	for i, a := range args[1:] {
		switch {
		case a == "--config" || a == "-config" || strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
			return args
		case a == "-h" || a == "--help" || a == "-v" || a == "--version" || a == "help":
			return args
		case i == 0 && (a == "components" || a == "translate" || a == "featuregate" || a == "completion"):
			return args
		}
	}
	return append(append([]string(nil), args...), "--config="+DefaultURI)
}

// WithOverlayMerge turns on the collector's append merging of lists when a
// krakend: source is combined with more --config sources, so that an
// overlay's pipeline exporters are added to the translated pipeline's rather
// than replacing them. A command line that names the gate is left alone.
func WithOverlayMerge(args []string) []string {
	configs, krakendSource := 0, false
	for i, a := range args {
		value, isConfig := "", false
		switch {
		case a == "--config" || a == "-config":
			if i+1 < len(args) {
				value, isConfig = args[i+1], true
			}
		case strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
			_, value, _ = strings.Cut(a, "=")
			isConfig = true
		case strings.Contains(a, mergeAppendGate):
			return args
		}
		if isConfig {
			configs++
			krakendSource = krakendSource || strings.HasPrefix(value, "krakend:")
		}
	}
	if configs < 2 || !krakendSource {
		return args
	}
	return append(append([]string(nil), args...), "--feature-gates="+mergeAppendGate)
}

// WithLongHelp writes a single-dash -help as --help: the collector's command
// line reads one dash as shorthand flags, so that `validate -help` would be
// refused as "unknown shorthand flag: 'e' in -elp", while translate (the Go
// flag package) and Go's own tools take -help. The value of a flag and
// what follows `--` are left alone.
func WithLongHelp(args []string) []string {
	out := append([]string(nil), args...)
	for i := 1; i < len(out); i++ {
		switch {
		case out[i] == "--":
			return out
		case out[i] == "-help" && !takesValue(out[i-1]):
			out[i] = "--help"
		}
	}
	return out
}

// takesValue tells the collector's flags that take the next argument as
// their value when written without "=".
func takesValue(flag string) bool {
	switch strings.TrimLeft(flag, "-") {
	case "config", "set", "feature-gates":
		return strings.HasPrefix(flag, "-")
	}
	return false
}
