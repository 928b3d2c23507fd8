// Package translatecli is the `otelcol-gateway translate` command: it prints
// the collector configuration a krakend.json translates into.
package translatecli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
	"github.com/otelcol-gateway/otelcol-gateway/config/translate"
)

// Examples shows one use of each of the binary's commands: `translate`'s
// usage and the collector command's help (cmd/otelcol-gateway) print it.
const Examples = `  otelcol-gateway translate /etc/krakend/krakend.json           # print the collector YAML
  otelcol-gateway translate -o collector.yaml krakend.json      # write it to a file
  otelcol-gateway validate --config collector.yaml              # check a configuration, run nothing
  otelcol-gateway validate --config krakend:/etc/krakend/krakend.json
  otelcol-gateway components                                    # what this build contains
  otelcol-gateway --config collector.yaml                       # run on a collector configuration
  otelcol-gateway --config krakend:/etc/krakend/krakend.json    # run on krakend.json directly
  otelcol-gateway --config 'krakend:/etc/krakend/krakend.json?destination=datadog'   # plus Datadog (DD_API_KEY)
  otelcol-gateway                                               # run the embedded default`

const usage = `Usage: otelcol-gateway translate [flags] krakend.json [flags]

Prints the collector configuration that the gateway's krakend.json translates
into ("-" reads it from stdin), with comments saying where each part came
from. Warnings (what the collector cannot honour) and the environment
variables to set go to stderr.
Exit status: 0 translated, 1 the file is refused, 2 a usage error; the reason
is the first line of stderr.

Examples:
` + Examples + `

Users of KrakenD's flexible configuration translate the rendered file, which
FC_ENABLE=1 FC_OUT=rendered.json krakend check -c krakend.tmpl writes (with
the FC_SETTINGS/FC_PARTIALS/FC_TEMPLATES you run KrakenD with).

Flags:
`

// Run executes the command with args (without the program and command
// names), reading krakend.json from stdin when the file is `-`, and returns
// the process exit code: 0 ok, 1 for a file refused, 2 for a usage error.
// The first line of stderr says why on failure.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, f := newFlagSet()
	fs.SetOutput(stderr)
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	fs.Usage = func() {} // printed below, where help asked for goes to stdout
	files, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return 0
		}
		printUsage(stderr) // after the flag package's one-line reason
		return 2
	}
	fs.Usage = func() { printUsage(stderr) }
	if len(files) != 1 {
		fmt.Fprintln(stderr, "translate: expected exactly one krakend.json argument")
		fs.Usage()
		return 2
	}
	for _, d := range f.destinations {
		if err := translate.CheckDestination(d); err != nil {
			fmt.Fprintf(stderr, "translate: --destination: %v\n", err)
			return 2
		}
	}
	if err := translate.CheckSampling(f.sampling); err != nil {
		fmt.Fprintf(stderr, "translate: --sampling: %v\n", err)
		return 2
	}
	if f.out != "" && sameFile(f.out, files[0]) {
		fmt.Fprintf(stderr, "translate: -o %s is the krakend.json being translated: it would be overwritten; write the YAML elsewhere\n", f.out)
		return 2
	}
	cfg, err := load(files[0], stdin)
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	res, err := translate.Translate(cfg, translate.Options{CollectorHosts: f.collectorHosts, QueueDirectory: f.queueDir, Destinations: f.destinations, Sampling: f.sampling})
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	// Written before the warnings, so that a failure to write is the first
	// line of stderr.
	if f.out == "" {
		_, err = stdout.Write(res.YAML)
	} else {
		err = os.WriteFile(f.out, res.YAML, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "translate: %v\n", err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	for _, v := range res.EnvVars {
		fmt.Fprintf(stderr, "set %s: %s\n", v.Name, v.Purpose)
	}
	if err != nil {
		return 1
	}
	return 0
}

// Dispatch runs translate when the binary's command line (args without the
// program name) asks for it and tells whether it did: `translate ...`, `help
// translate`, and translate's own flags written before the word
// (`-o out.yaml translate krakend.json`), as the collector's commands take
// their flags before their name. A collector flag before `translate` is a
// usage error that says the order. Any other command line is the
// collector's.
func Dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int, isTranslate bool) {
	if len(args) == 2 && args[0] == "help" && args[1] == "translate" {
		return Run([]string{"-h"}, stdin, stdout, stderr), true
	}
	fs, _ := newFlagSet()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			if a != "translate" {
				return 0, false
			}
			for _, before := range args[:i] {
				if name, ok := flagName(before); ok && !isTranslateFlag(fs, name) {
					fmt.Fprintf(stderr, "translate: %s is not a flag of translate: write translate's flags after it, otelcol-gateway translate [flags] krakend.json\n", before)
					return 2, true
				}
			}
			return Run(append(append([]string(nil), args[:i]...), args[i+1:]...), stdin, stdout, stderr), true
		}
		name, _ := flagName(a)
		if strings.Contains(a, "=") {
			continue
		}
		if f := fs.Lookup(name); collectorValueFlags[name] || f != nil && !isBoolFlag(f) {
			i++ // its value
		}
	}
	return 0, false
}

// collectorValueFlags are the collector's flags that take the next argument
// as their value.
var collectorValueFlags = map[string]bool{"config": true, "set": true, "feature-gates": true}

// flagName is the name of a flag argument (`--o=x` is o), with the value
// left out.
func flagName(arg string) (string, bool) {
	if !strings.HasPrefix(arg, "-") || arg == "-" {
		return "", false
	}
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return name, true
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func isTranslateFlag(fs *flag.FlagSet, name string) bool {
	return name == "h" || name == "help" || fs.Lookup(name) != nil
}

// flags are translate's flags.
type flags struct {
	out, queueDir, sampling      string
	collectorHosts, destinations stringList
}

// newFlagSet declares translate's flags; Dispatch reads them too.
func newFlagSet() (*flag.FlagSet, *flags) {
	f := &flags{}
	fs := flag.NewFlagSet("translate", flag.ContinueOnError)
	fs.StringVar(&f.out, "o", "", "write the YAML to this file instead of stdout")
	fs.Var(&f.collectorHosts, "collector-host", "a host name that means this collector in exporters.otlp[].host (repeatable or comma-separated)")
	fs.StringVar(&f.queueDir, "queue-dir", "", "keep the exporters' sending queues on disk in this directory (file_storage): nothing acknowledged is lost in a crash")
	fs.Var(&f.destinations, "destination", "a destination krakend.json cannot name, added to the pipelines: datadog (traces and metrics, its APM stats counted before sampling; repeatable or comma-separated; with the Datadog overlay too, the collector keeps one path to each Datadog component)")
	fs.StringVar(&f.sampling, "sampling", translate.SamplingCollector, "where the sample rate is applied: collector (the collector applies the gateway's own rule again) or gateway (the gateway that runs this file samples, keeping every trace a caller sampled; the collector keeps what arrives)")
	return fs, f
}

// load reads krakend.json from path, or from stdin when path is `-`.
func load(path string, stdin io.Reader) (*krakend.Config, error) {
	if path != "-" {
		return krakend.Load(path)
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	return krakend.Parse(data, "stdin")
}

// sameFile tells whether both paths name one existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// parseInterleaved parses flags before and after the file names (the flag
// package alone stops at the first one, so `translate krakend.json -o
// out.yaml` would take -o for a second file) and returns the file names.
// After `--` every argument is a file name.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if stoppedAtDashDash(fs, args[:len(args)-len(rest)]) {
			return append(files, rest...), nil
		}
		if len(rest) == 0 {
			return files, nil
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
}

// stoppedAtDashDash tells whether Parse ended on a `--` of its own rather
// than on one given as a flag's value (`-o --`): it walks the arguments Parse
// consumed as Parse did, skipping the value of each flag that takes one.
func stoppedAtDashDash(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		a := consumed[i]
		if a == "--" {
			return true
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil && !isBoolFlag(f) {
			i++ // its value
		}
	}
	return false
}

// printErrors writes the first problem on the first line, as callers that
// read one line expect, then the others.
func printErrors(w io.Writer, err error) {
	es := krakend.AsErrors(err)
	if len(es) == 0 {
		fmt.Fprintln(w, strings.ReplaceAll(err.Error(), "\n", "; "))
		return
	}
	if len(es) > 1 {
		fmt.Fprintf(w, "%s (%d problems in all)\n", es[0], len(es))
		for _, e := range es[1:] {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, es[0])
}

// stringList is a repeatable flag that also takes NAME,NAME, as the
// environment variables and the krakend: URI do.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return fmt.Errorf("an empty name in %q", v)
		}
		*s = append(*s, item)
	}
	return nil
}
