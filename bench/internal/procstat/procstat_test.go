package procstat

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCountsFieldsAfterTheLastParenthesis(t *testing.T) {
	// a command name with spaces and a ')' of its own
	line := []byte("4242 (otel col) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 12 0 100 2000000 3000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n")
	u, s, err := ParseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if u != 250 || s != 75 {
		t.Fatalf("utime, stime = %d, %d; want 250, 75", u, s)
	}
	if d := TicksToDuration(u + s); d != 3250*time.Millisecond {
		t.Fatalf("duration = %v, want 3.25s", d)
	}
}

func TestParseStatRefusesATruncatedLine(t *testing.T) {
	if _, _, err := ParseStat([]byte("1 (a) S 1 2 3")); err == nil {
		t.Fatal("want an error")
	}
	if _, _, err := ParseStat([]byte("no parenthesis")); err == nil {
		t.Fatal("want an error")
	}
}

func TestParseStatusFieldReadsKilobytes(t *testing.T) {
	status := []byte("Name:\totelcol\nVmPeak:\t  900000 kB\nVmHWM:\t   70000 kB\nVmRSS:\t   65536 kB\nThreads:\t12\n")
	rss, err := ParseStatusField(status, "VmRSS")
	if err != nil {
		t.Fatal(err)
	}
	if rss != 64<<20 {
		t.Fatalf("VmRSS = %d, want %d", rss, 64<<20)
	}
	if _, err := ParseStatusField(status, "VmSwap"); err == nil {
		t.Fatal("a missing field must be an error")
	}
}

func TestParseMemorySplitsResidentMemory(t *testing.T) {
	status := []byte("Name:\totelcol\nVmHWM:\t  100000 kB\nVmRSS:\t   96256 kB\nRssAnon:\t   16384 kB\nRssFile:\t   79872 kB\nRssShmem:\t       0 kB\nThreads:\t12\n")
	m, err := ParseMemory(status)
	if err != nil {
		t.Fatal(err)
	}
	want := MemoryUsage{RSS: 94 << 20, Anon: 16 << 20, File: 78 << 20, Shmem: 0}
	if m != want {
		t.Fatalf("ParseMemory = %+v, want %+v", m, want)
	}
}

func TestParseMemoryNamesAMissingField(t *testing.T) {
	// a kernel before 4.5 has VmRSS but no RssAnon, RssFile or RssShmem
	status := []byte("Name:\totelcol\nVmRSS:\t   96256 kB\nThreads:\t12\n")
	_, err := ParseMemory(status)
	if err == nil {
		t.Fatal("want an error")
	}
	if want := "RssAnon: not found"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

func TestReadsThisProcess(t *testing.T) {
	// the harness reads /proc: on a machine without it, it cannot work
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Fatalf("no /proc: the harness measures through it (%v)", err)
	}
	if _, err := CPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	rss, err := RSS(os.Getpid())
	if err != nil || rss == 0 {
		t.Fatalf("RSS = %d, %v", rss, err)
	}
	m, err := Memory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// a Go test binary has a heap and is itself mapped from a file
	if m.RSS == 0 || m.Anon == 0 || m.File == 0 {
		t.Fatalf("Memory = %+v: want RSS, Anon and File above zero", m)
	}
	// the kernel sums the three counters into VmRSS in the same read
	if m.Anon+m.File+m.Shmem != m.RSS {
		t.Fatalf("Memory = %+v: Anon+File+Shmem = %d, want VmRSS %d", m, m.Anon+m.File+m.Shmem, m.RSS)
	}
}
