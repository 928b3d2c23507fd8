package main

import (
	"bufio"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"time"
)

// With -gctrace the collectors run with GODEBUG=gctrace=1, and the runtime
// writes a line per garbage collection to their log. Summed over a load
// window, those lines say how much of the window's CPU went to the
// collector of garbage rather than to the collector of telemetry.

// gcCycle is one gctrace line: when the cycle started, counted from the
// process's start, and the CPU it took.
type gcCycle struct {
	at  time.Duration
	cpu time.Duration
}

// A gctrace line (runtime/extern.go documents the format):
//
//	gc 12 @0.104s 2%: 0.018+1.3+0.076 ms clock, 0.036+0.5/1.1/0.3+0.15 ms cpu, 4->4->1 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P
//
// The CPU fields are the stop-the-world sweep termination, the mark phase's
// assist, background and idle work, and the stop-the-world mark
// termination. All five are CPU the process spends, idle marking included:
// /proc counts it like any other.
var gcLine = regexp.MustCompile(`^gc \d+ @([0-9.]+)s \d+%: [^,]+ ms clock, ([0-9.]+)\+([0-9.]+)/([0-9.]+)/([0-9.]+)\+([0-9.]+) ms cpu`)

// parseGCTrace reads the gctrace lines of a log; other lines are skipped.
func parseGCTrace(r io.Reader) []gcCycle {
	var out []gcCycle
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		m := gcLine.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		// The pattern admits "1.2.3": such a line is skipped, not misread.
		at, err := strconv.ParseFloat(string(m[1]), 64)
		var ms float64
		for _, f := range m[2:] {
			v, ferr := strconv.ParseFloat(string(f), 64)
			err = errors.Join(err, ferr)
			ms += v
		}
		if err != nil {
			continue
		}
		out = append(out, gcCycle{at: seconds(at), cpu: time.Duration(math.Round(ms * float64(time.Millisecond)))})
	}
	return out
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// attributeGC gives each phase the cycles that started within it: from the
// start of its load window to the end of its drain, as its CPU is measured.
func attributeGC(cycles []gcCycle, phases ...[]Phase) {
	for _, ps := range phases {
		for i := range ps {
			p := &ps[i]
			p.GCTraced = true
			for _, c := range cycles {
				if c.at >= p.from && c.at < p.to {
					p.GCCycles++
					p.GCCPU += c.cpu
				}
			}
			if p.Sent > 0 {
				p.GCPerMillion = p.GCCPU.Seconds() / (float64(p.Sent) / 1e6)
			}
		}
	}
}
