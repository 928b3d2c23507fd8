// Package cpuprofile keeps a CPU profile of a collector's most recent
// minutes when OTELCOL_GATEWAY_CPU_PROFILE names a file. The distribution
// has no pprof extension; this is how a user profiles it, and how `make pgo`
// records the profile the distribution is built with
// (cmd/otelcol-gateway/default.pgo).
package cpuprofile // import "github.com/otelcol-gateway/otelcol-gateway/internal/cpuprofile"

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"
)

const (
	// EnvVar names the file that holds the profile of the last window.
	EnvVar = "OTELCOL_GATEWAY_CPU_PROFILE"
	// WindowEnvVar sets the window's length in seconds.
	WindowEnvVar = "OTELCOL_GATEWAY_CPU_PROFILE_SECONDS"
	// DefaultWindow is the window's length when WindowEnvVar is unset.
	DefaultWindow = 30 * time.Second
)

// Rolling profiles the process in consecutive windows and, at the end of
// each, replaces path with that window's profile (written beside it, then
// renamed): path always holds one whole window, however the process ends. A
// window that cannot be written goes to report, and profiling stops. stop
// ends the profiling; the window in progress is discarded.
func Rolling(path string, window time.Duration, report func(error)) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			kept, err := profileWindow(path, window, done)
			if err != nil {
				report(err)
				return
			}
			if !kept {
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}

// profileWindow records one window into path's temporary file and renames
// it over path; kept is false when done came first.
func profileWindow(path string, window time.Duration, done <-chan struct{}) (kept bool, err error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return false, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return false, err
	}
	timer := time.NewTimer(window)
	defer timer.Stop()
	select {
	case <-timer.C:
		kept = true
	case <-done:
	}
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil || !kept {
		_ = os.Remove(tmp)
		return false, err
	}
	return true, os.Rename(tmp, path)
}

// FromEnv starts Rolling when EnvVar is set, with the window WindowEnvVar
// gives. A profile that cannot be recorded is reported on stderr and the
// collector runs all the same.
func FromEnv(stderr io.Writer) {
	path := os.Getenv(EnvVar)
	if path == "" {
		return
	}
	window := DefaultWindow
	if s := os.Getenv(WindowEnvVar); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "otelcol-gateway: %s=%q: want a whole number of seconds, 1 or more; no CPU profile\n", WindowEnvVar, s)
			return
		}
		window = time.Duration(n) * time.Second
	}
	Rolling(path, window, func(err error) {
		fmt.Fprintf(stderr, "otelcol-gateway: %s: CPU profile stopped: %v\n", EnvVar, err)
	})
}
