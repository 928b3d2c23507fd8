// Package memlimit gives the Go runtime a soft memory limit (GOMEMLIMIT)
// from the container's memory limit when the user set none.
//
// The memory_limiter processor watches the heap and refuses data at a
// percentage of the container's limit, but between two of its checks Go's
// collector lets the heap grow to twice the live data (GOGC=100): without a
// runtime limit a heap-heavy collector can be OOM-killed before the limiter
// acts. With GOMEMLIMIT at the limiter's own hard limit (80 % of the
// container's memory) the runtime collects harder as it nears it.
package memlimit // import "github.com/otelcol-gateway/otelcol-gateway/internal/memlimit"

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Fraction of the container's memory limit given to the runtime: the
// memory_limiter's limit_percentage in the translated configurations.
const Fraction = 0.8

// unlimited: cgroup v1 writes a page-rounded 2^63-1 for "no limit".
const unlimited = 1 << 62

// ContainerLimit returns the memory limit, in bytes, of the cgroup the
// process sees at root (normally /sys/fs/cgroup): cgroup v2's memory.max,
// else cgroup v1's memory/memory.limit_in_bytes. ok is false when there is
// no limit or no cgroup file.
func ContainerLimit(root string) (limit int64, ok bool) {
	for _, f := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		raw, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(raw))
		if s == "max" {
			return 0, false
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 || v >= unlimited {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

// Apply sets the runtime's soft memory limit to Fraction of the container's
// limit, unless GOMEMLIMIT is set (the runtime has read it already) or there
// is no limit. It returns the limit set, 0 when it set none.
func Apply(root string) (int64, error) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	limit, ok := ContainerLimit(root)
	if !ok {
		return 0, nil
	}
	soft := int64(float64(limit) * Fraction)
	if soft <= 0 {
		return 0, errors.New("memlimit: container limit too small")
	}
	debug.SetMemoryLimit(soft)
	return soft, nil
}
