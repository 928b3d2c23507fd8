package defaultconfig

import "strings"

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
		case i == 0 && (a == "components" || a == "translate"):
			return args
		}
	}
	return append(append([]string(nil), args...), "--config="+DefaultURI)
}
