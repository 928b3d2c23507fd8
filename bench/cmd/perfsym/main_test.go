package main

import "testing"

func TestFirstOutsideRuntimeSkipsTheRuntimesFrames(t *testing.T) {
	for _, tc := range []struct {
		stack []string
		want  string
	}{
		{[]string{"runtime.memclrNoHeapPointers", "runtime.mallocgc", "internal/runtime/maps.newarray", "gcWriteBarrier", "main.decode", "main.main"}, "main.decode"},
		{[]string{"memeqbody", "main.compare"}, "main.compare"},
		{[]string{"[other]", "runtime.goexit"}, "[runtime only]"},
	} {
		if got := firstOutsideRuntime(tc.stack); got != tc.want {
			t.Errorf("firstOutsideRuntime(%q) = %q, want %q", tc.stack, got, tc.want)
		}
	}
}
