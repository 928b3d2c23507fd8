package cpuprofile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gzipMagic opens every pprof profile (gzip-compressed protobuf).
var gzipMagic = []byte{0x1f, 0x8b}

func TestRollingKeepsTheLastWholeWindow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	stop := Rolling(path, 50*time.Millisecond, func(err error) { t.Errorf("reported: %v", err) })
	var first os.FileInfo
	require.Eventually(t, func() bool {
		fi, err := os.Stat(path)
		first = fi
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	// A later window replaces the first.
	require.Eventually(t, func() bool {
		fi, err := os.Stat(path)
		return err == nil && !os.SameFile(fi, first)
	}, 5*time.Second, 10*time.Millisecond)
	stop()
	stop() // a second stop is harmless
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, gzipMagic), "not a pprof profile: % x", b[:min(len(b), 8)])
	_, err = os.Stat(path + ".tmp")
	assert.True(t, errors.Is(err, os.ErrNotExist), "the window in progress is discarded at stop")
}

func TestRollingReportsAnUnwritablePathAndLeavesProfilingFree(t *testing.T) {
	var mu sync.Mutex
	var reported error
	stop := Rolling(filepath.Join(t.TempDir(), "missing", "cpu.pprof"), time.Hour, func(err error) {
		mu.Lock()
		reported = err
		mu.Unlock()
	})
	stop() // returns once the profiling goroutine has ended
	mu.Lock()
	assert.Error(t, reported)
	mu.Unlock()
	// The profiler is free.
	stop = Rolling(filepath.Join(t.TempDir(), "cpu.pprof"), time.Hour, func(err error) { t.Errorf("reported: %v", err) })
	stop()
}

func TestFromEnv(t *testing.T) {
	for name, tc := range map[string]struct {
		path, seconds string
		stderr        string
	}{
		"unset":                 {},
		"a bad window":          {path: "cpu.pprof", seconds: "0", stderr: "want a whole number of seconds"},
		"a window not a number": {path: "cpu.pprof", seconds: "30s", stderr: "want a whole number of seconds"},
		"an unwritable path":    {path: filepath.Join("missing", "cpu.pprof"), seconds: "1", stderr: "CPU profile stopped"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.path != "" {
				t.Setenv(EnvVar, filepath.Join(dir, tc.path))
			} else {
				t.Setenv(EnvVar, "")
			}
			t.Setenv(WindowEnvVar, tc.seconds)
			var mu sync.Mutex
			var stderr bytes.Buffer
			FromEnv(lockedWriter{&mu, &stderr})
			read := func() string {
				mu.Lock()
				defer mu.Unlock()
				return stderr.String()
			}
			if tc.stderr == "" {
				assert.Empty(t, read())
				return
			}
			require.Eventually(t, func() bool { return strings.Contains(read(), tc.stderr) }, 5*time.Second, 10*time.Millisecond)
			assert.Contains(t, read(), "otelcol-gateway:")
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
