// Command perfsym turns `perf script` output of a stripped Go binary (ocb
// builds with -s -w) into a top list, naming functions from the binary's
// own pclntab, which stripping keeps. Used to profile the running
// collectors for docs/benchmarks.md:
//
//	perf record -F 499 -g -p <pid> -o perf.data -- sleep 15
//	perf script -i perf.data -F ip | go run ./cmd/perfsym -bin <binary> -n 40
package main

import (
	"bufio"
	"debug/elf"
	"debug/gosym"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	bin := flag.String("bin", "", "the Go binary perf recorded")
	n := flag.Int("n", 40, "lines to print")
	group := flag.String("group", "", "comma-separated package prefixes to total (cumulative, once per sample)")
	callersOf := flag.String("callers", "", "also list the first caller outside the runtime of the samples whose leaf is this function")
	within := flag.String("within", "", "count only the samples with a frame whose name starts with this (the shares stay of all samples)")
	flag.Parse()
	f, err := elf.Open(*bin)
	if err != nil {
		log.Fatal(err)
	}
	pcln := f.Section(".gopclntab")
	text := f.Section(".text")
	if pcln == nil || text == nil {
		log.Fatal("no .gopclntab or .text")
	}
	data, err := pcln.Data()
	if err != nil {
		log.Fatal(err)
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		log.Fatal(err)
	}
	// perf prints addresses of an unsymbolised binary as file offsets:
	// map them back through the executable segment.
	var delta uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 {
			delta = p.Vaddr - p.Off
			break
		}
	}
	name := func(pc uint64) string {
		if fn := tab.PCToFunc(pc + delta); fn != nil {
			return fn.Name
		}
		return "[other]"
	}

	flat := map[string]int{}
	cum := map[string]int{}
	groups := map[string]int{}
	callers := map[string]int{}
	var prefixes []string
	if *group != "" {
		prefixes = strings.Split(*group, ",")
	}
	samples, matched := 0, 0
	var stack []string
	flush := func() {
		if len(stack) == 0 {
			return
		}
		samples++
		if *within != "" && !hasFrame(stack, *within) {
			stack = stack[:0]
			return
		}
		matched++
		flat[stack[0]]++
		if *callersOf != "" && stack[0] == *callersOf {
			callers[firstOutsideRuntime(stack)]++
		}
		seen := map[string]bool{}
		gseen := map[string]bool{}
		for _, s := range stack {
			if !seen[s] {
				seen[s] = true
				cum[s]++
			}
			for _, p := range prefixes {
				if strings.HasPrefix(s, p) && !gseen[p] {
					gseen[p] = true
					groups[p]++
				}
			}
		}
		stack = stack[:0]
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			flush()
			continue
		}
		pc, err := strconv.ParseUint(strings.Fields(line)[0], 16, 64)
		if err != nil {
			continue
		}
		stack = append(stack, name(pc))
	}
	flush()

	print := func(title string, m map[string]int) {
		type kv struct {
			k string
			v int
		}
		var l []kv
		for k, v := range m {
			l = append(l, kv{k, v})
		}
		sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
		fmt.Printf("%s (%d samples)\n", title, samples)
		for i, e := range l {
			if i == *n {
				break
			}
			fmt.Printf("%6.2f%%  %s\n", 100*float64(e.v)/float64(samples), e.k)
		}
		fmt.Println()
	}
	if *within != "" {
		fmt.Printf("%6.2f%%  of the samples have a frame in %s\n\n", 100*float64(matched)/float64(max(samples, 1)), *within)
	}
	print("flat", flat)
	print("cumulative", cum)
	if len(prefixes) > 0 {
		print("groups (cumulative)", groups)
	}
	if *callersOf != "" {
		print("callers of "+*callersOf, callers)
	}
}

// hasFrame tells whether a frame of stack starts with prefix.
func hasFrame(stack []string, prefix string) bool {
	for _, s := range stack {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// firstOutsideRuntime names the innermost frame of stack (leaf first) that
// is not the runtime's: the code that made the runtime do the work. The
// runtime's assembly (memeqbody, gcWriteBarrier) has no package in its
// name, and [other] is what the binary's table does not name.
func firstOutsideRuntime(stack []string) string {
	for _, s := range stack {
		if !strings.HasPrefix(s, "runtime.") && !strings.HasPrefix(s, "internal/runtime") && strings.Contains(s, ".") {
			return s
		}
	}
	return "[runtime only]"
}
