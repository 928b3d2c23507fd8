// Package procstat reads a process's CPU time and resident memory from
// /proc, the way the benchmark harness measures the collectors it runs.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const ClockTicks = 100

// CPU returns the user plus system CPU time the process has used so far.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	u, s, err := ParseStat(b)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return TicksToDuration(u + s), nil
}

// TicksToDuration converts clock ticks to a duration.
func TicksToDuration(ticks uint64) time.Duration {
	return time.Duration(ticks) * (time.Second / ClockTicks)
}

// ParseStat returns utime and stime (fields 14 and 15, in clock ticks) of a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses and may
// itself hold spaces and parentheses, so fields are counted after the last ')'.
func ParseStat(b []byte) (utime, stime uint64, err error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, 0, errors.New("no ')' after the command name")
	}
	fields := bytes.Fields(b[end+1:])
	// fields[0] is field 3 (state): utime is field 14, stime field 15.
	const utimeIdx, stimeIdx = 14 - 3, 15 - 3
	if len(fields) <= stimeIdx {
		return 0, 0, fmt.Errorf("%d fields after the command name, want more than %d", len(fields), stimeIdx)
	}
	if utime, err = strconv.ParseUint(string(fields[utimeIdx]), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("utime: %w", err)
	}
	if stime, err = strconv.ParseUint(string(fields[stimeIdx]), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("stime: %w", err)
	}
	return utime, stime, nil
}

// RSS returns the process's resident set size (VmRSS) in bytes.
func RSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return ParseStatusField(b, "VmRSS")
}

// MemoryUsage is a process's resident memory in bytes, split the way the
// kernel counts it (RSS = Anon + File + Shmem): the executable's own text and
// rodata are file pages, so a bigger binary shows in File, not in Anon.
type MemoryUsage struct {
	RSS   uint64 // VmRSS
	Anon  uint64 // RssAnon: heap, stacks, anonymous mappings
	File  uint64 // RssFile: the executable, shared libraries, other mapped files
	Shmem uint64 // RssShmem: shared memory, tmpfs
}

// Memory returns the process's resident memory from one read of
// /proc/<pid>/status, so the four fields are from the same moment.
// RssAnon, RssFile and RssShmem exist since Linux 4.5.
func Memory(pid int) (MemoryUsage, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return MemoryUsage{}, err
	}
	m, err := ParseMemory(b)
	if err != nil {
		return MemoryUsage{}, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return m, nil
}

// ParseMemory reads VmRSS, RssAnon, RssFile and RssShmem of a
// /proc/<pid>/status text; any of them missing is an error.
func ParseMemory(b []byte) (MemoryUsage, error) {
	var m MemoryUsage
	for _, f := range []struct {
		name string
		dst  *uint64
	}{{"VmRSS", &m.RSS}, {"RssAnon", &m.Anon}, {"RssFile", &m.File}, {"RssShmem", &m.Shmem}} {
		v, err := ParseStatusField(b, f.name)
		if err != nil {
			return MemoryUsage{}, err
		}
		*f.dst = v
	}
	return m, nil
}

// ParseStatusField returns a "kB" field of /proc/<pid>/status in bytes.
func ParseStatusField(b []byte, name string) (uint64, error) {
	prefix := []byte(name + ":")
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		rest, ok := bytes.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("%s: unexpected %q", name, rest)
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%s: not found", name)
}
