package startuppagesextension

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

const sampleMaps = `00400000-02bd0000 r-xp 00000000 00:2a 1234567                            /usr/bin/otelcol-gateway (deleted)
02bd0000-0583f000 r--p 027d0000 00:2a 1234567                            /usr/bin/otelcol-gateway (deleted)
0583f000-05951000 rw-p 0543f000 00:2a 1234567                            /usr/bin/otelcol-gateway (deleted)
05951000-07a00000 rw-p 00000000 00:00 0 
c000000000-c004000000 rw-p 00000000 00:00 0 
7f0000000000-7f0000020000 r--p 00000000 08:01 99                         /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000020000-7f0000090000 r-xp 00020000 08:01 99                         /usr/lib/x86_64-linux-gnu/libc.so.6
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0                          [vdso]
`

func TestParseMaps(t *testing.T) {
	maps, err := parseMaps([]byte(sampleMaps))
	require.NoError(t, err)
	require.Len(t, maps, 9)
	require.Equal(t, mapping{start: 0x400000, end: 0x2bd0000, file: "00:2a 1234567"}, maps[0])
	require.Equal(t, mapping{start: 0x583f000, end: 0x5951000, writable: true, file: "00:2a 1234567"}, maps[2])
	require.Equal(t, mapping{start: 0x5951000, end: 0x7a00000, writable: true}, maps[3], "anonymous: no file")
	require.Equal(t, mapping{start: 0x7ffd00100000, end: 0x7ffd00102000}, maps[8], "the vDSO has no file")

	for _, bad := range []string{
		"00400000-02bd0000 r-xp 00000000 00:2a\n",
		"00400000 r-xp 00000000 00:2a 1 /x\n",
		"02bd0000-00400000 r-xp 00000000 00:2a 1 /x\n",
		"zz-02bd0000 r-xp 00000000 00:2a 1 /x\n",
	} {
		_, err := parseMaps([]byte(bad))
		require.Error(t, err, bad)
	}
}

func TestExecutableRegions(t *testing.T) {
	maps, err := parseMaps([]byte(sampleMaps))
	require.NoError(t, err)

	got := executableRegions(maps, 0x1000000)
	require.Equal(t, []mapping{maps[0], maps[1]}, got, "the executable's read-only mappings, even when replaced on disk; not its data, not libc")

	require.Equal(t, []mapping{maps[5], maps[6]}, executableRegions(maps, 0x7f0000030000), "the file that holds pc, whichever it is")
	require.Empty(t, executableRegions(maps, 0x5960000), "pc in anonymous memory names no file")
	require.Empty(t, executableRegions(maps, 0x7ffd00100010), "nor in the vDSO")
	require.Empty(t, executableRegions(maps, 0x10), "nor outside every mapping")
}

// TestReleaseExecutablePages releases the test binary's own pages: its
// resident file pages must fall, and its code mapping must carry the
// kernel's random-read flag, which stops read-around on later faults.
func TestReleaseExecutablePages(t *testing.T) {
	r, err := releaseExecutablePages()
	require.NoError(t, err)
	require.NotZero(t, r.advised)
	require.NotZero(t, r.residentBefore)
	// A quarter at least: the runtime faults some pages straight back, and
	// a test binary written moments ago has dirty pages the kernel keeps
	// (a fresh clone's CI measured 4.0 to 2.0 MB; with no page-out the
	// figure does not move).
	t.Logf("resident file pages: %d KiB before, %d KiB after", r.residentBefore>>10, r.residentAfter>>10)
	require.Less(t, r.residentAfter, r.residentBefore*3/4, "the executable's resident pages are paged out")

	smaps, err := os.ReadFile("/proc/self/smaps")
	require.NoError(t, err)
	pc := uint64(reflect.ValueOf(releaseExecutablePages).Pointer())
	require.Contains(t, vmFlagsOf(t, smaps, pc), " rr", "MADV_RANDOM on the code that holds pc")
}

// vmFlagsOf returns the VmFlags line of the smaps entry that holds pc.
func vmFlagsOf(t *testing.T, smaps []byte, pc uint64) string {
	inside := false
	for line := range bytes.Lines(smaps) {
		if f := bytes.Fields(line); len(f) > 0 && bytes.IndexByte(f[0], '-') > 0 && !bytes.HasSuffix(f[0], []byte(":")) {
			lo, hi, _ := bytes.Cut(f[0], []byte("-"))
			start, err1 := strconv.ParseUint(string(lo), 16, 64)
			end, err2 := strconv.ParseUint(string(hi), 16, 64)
			inside = err1 == nil && err2 == nil && start <= pc && pc < end
			continue
		}
		if rest, ok := bytes.CutPrefix(line, []byte("VmFlags:")); ok && inside {
			return string(bytes.TrimRight(rest, "\n"))
		}
	}
	t.Fatalf("no smaps entry holds %#x", pc)
	return ""
}

// adviceLog records the advice given, by region start.
type adviceLog []string

func (l *adviceLog) advise(failPageout error) func(mapping, int) error {
	return func(m mapping, advice int) error {
		name := map[int]string{unix.MADV_RANDOM: "random", unix.MADV_PAGEOUT: "pageout", unix.MADV_NORMAL: "normal"}[advice]
		*l = append(*l, fmt.Sprintf("%#x %s", m.start, name))
		if advice == unix.MADV_PAGEOUT {
			return failPageout
		}
		return nil
	}
}

func TestAdviseRegions(t *testing.T) {
	regions := []mapping{{start: 0x1000, end: 0x3000}, {start: 0x3000, end: 0x4000}}

	var ok adviceLog
	n, err := adviseRegions(regions, ok.advise(nil))
	require.NoError(t, err)
	require.Equal(t, uint64(0x3000), n)
	require.Equal(t, adviceLog{"0x1000 random", "0x3000 random", "0x1000 pageout", "0x3000 pageout"}, ok,
		"read-around off everywhere before the first page goes out")

	var old adviceLog
	_, err = adviseRegions(regions, old.advise(fmt.Errorf("madvise: %w", unix.EINVAL)))
	require.ErrorIs(t, err, errUnsupported)
	require.Equal(t, adviceLog{"0x1000 random", "0x3000 random", "0x1000 pageout", "0x1000 normal", "0x3000 normal"}, old,
		"a kernel without MADV_PAGEOUT gets its read-around back")

	var denied adviceLog
	_, err = adviseRegions(regions, denied.advise(unix.EPERM))
	require.ErrorIs(t, err, unix.EPERM)
	require.NotErrorIs(t, err, errUnsupported)
}
