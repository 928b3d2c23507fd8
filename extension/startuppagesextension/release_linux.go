package startuppagesextension // import "github.com/otelcol-gateway/otelcol-gateway/extension/startuppagesextension"

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"

	"golang.org/x/sys/unix"
)

// mapping is one line of /proc/<pid>/maps.
type mapping struct {
	start, end uint64
	writable   bool
	file       string // device and inode, as the kernel prints them
}

// parseMaps reads the mappings of /proc/<pid>/maps; anonymous ones (inode 0)
// have no file.
func parseMaps(maps []byte) ([]mapping, error) {
	var out []mapping
	s := bufio.NewScanner(bytes.NewReader(maps))
	for s.Scan() {
		f := bytes.Fields(s.Bytes())
		if len(f) < 5 {
			return nil, fmt.Errorf("maps line %q: want at least 5 fields", s.Text())
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("maps line %q: bad address range", s.Text())
		}
		m := mapping{start: start, end: end, writable: bytes.IndexByte(f[1], 'w') >= 0}
		if string(f[4]) != "0" {
			m.file = string(f[3]) + " " + string(f[4])
		}
		out = append(out, m)
	}
	return out, s.Err()
}

// executableRegions are the read-only mappings of the file that holds pc.
// The file is told by the device and inode the kernel prints beside the
// mapping that holds pc, not by a path: the executable may have been
// replaced on disk since, and in a container the overlay file system shows
// another device to stat than to the mappings.
func executableRegions(maps []mapping, pc uint64) []mapping {
	file := ""
	for _, m := range maps {
		if m.start <= pc && pc < m.end {
			file = m.file
		}
	}
	if file == "" {
		return nil
	}
	var out []mapping
	for _, m := range maps {
		if m.file == file && !m.writable {
			out = append(out, m)
		}
	}
	return out
}

// releaseExecutablePages turns off read-around on the executable's read-only
// mappings, then pages them out. The pages are clean: those in use come back
// on the next access, one by one.
func releaseExecutablePages() (released, error) {
	var r released
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return r, err
	}
	all, err := parseMaps(maps)
	if err != nil {
		return r, err
	}
	regions := executableRegions(all, uint64(reflect.ValueOf(releaseExecutablePages).Pointer()))
	if len(regions) == 0 {
		return r, errors.New("no mapping of the executable in /proc/self/maps")
	}
	r.residentBefore, _ = residentFilePages()
	if r.advised, err = adviseRegions(regions, madvise); err != nil {
		return r, err
	}
	r.residentAfter, _ = residentFilePages()
	return r, nil
}

// adviseRegions turns read-around off on regions, then pages them out, and
// tells how many bytes it paged out. A kernel without MADV_PAGEOUT gets its
// read-around back and errUnsupported.
func adviseRegions(regions []mapping, advise func(mapping, int) error) (uint64, error) {
	for _, m := range regions {
		if err := advise(m, unix.MADV_RANDOM); err != nil {
			return 0, err
		}
	}
	var advised uint64
	for _, m := range regions {
		if err := advise(m, unix.MADV_PAGEOUT); err != nil {
			if errors.Is(err, unix.EINVAL) && advised == 0 {
				// Nothing was paged out: read-around stays as it was.
				for _, m := range regions {
					_ = advise(m, unix.MADV_NORMAL)
				}
				return 0, errUnsupported
			}
			return advised, err
		}
		advised += m.end - m.start
	}
	return advised, nil
}

// madvise advises on a mapping by its address: the mapping is the program's
// own code and data, which no Go slice holds.
func madvise(m mapping, advice int) error {
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), uintptr(advice)); errno != 0 {
		return fmt.Errorf("madvise(%#x, %d, %d): %w", m.start, m.end-m.start, advice, errno)
	}
	return nil
}

// residentFilePages reads RssFile (bytes) from /proc/self/status.
func residentFilePages() (uint64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("RssFile:")); ok {
			kb, err := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no RssFile in /proc/self/status")
}
