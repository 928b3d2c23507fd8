package memlimit

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, root, name, content string) {
	t.Helper()
	path := filepath.Join(root, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestContainerLimit(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		want                int64
		ok                  bool
	}{
		{"cgroup v2 with a limit", "memory.max", "536870912\n", 536870912, true},
		{"cgroup v2 without", "memory.max", "max\n", 0, false},
		{"cgroup v1 with a limit", "memory/memory.limit_in_bytes", "1073741824\n", 1073741824, true},
		{"cgroup v1 without (page-rounded 2^63-1)", "memory/memory.limit_in_bytes", "9223372036854771712\n", 0, false},
		{"garbage", "memory.max", "lots\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, tc.file, tc.content)
			got, ok := ContainerLimit(root)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
	got, ok := ContainerLimit(t.TempDir())
	assert.False(t, ok, "no cgroup files")
	assert.Zero(t, got)
}

func TestApplySetsEightyPercentUnlessGOMEMLIMITIsSet(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	root := t.TempDir()
	writeFile(t, root, "memory.max", "1000000000\n")

	t.Setenv("GOMEMLIMIT", "")
	set, err := Apply(root)
	require.NoError(t, err)
	assert.Equal(t, int64(800000000), set)
	assert.Equal(t, int64(800000000), debug.SetMemoryLimit(-1))

	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "300MiB")
	set, err = Apply(root)
	require.NoError(t, err)
	assert.Zero(t, set, "the user's GOMEMLIMIT wins")
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1))

	t.Setenv("GOMEMLIMIT", "")
	set, err = Apply(t.TempDir())
	require.NoError(t, err)
	assert.Zero(t, set, "no container limit, no runtime limit")
}
