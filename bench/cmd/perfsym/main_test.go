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

func TestHasFrameLooksAtEveryFrame(t *testing.T) {
	stack := []string{"runtime.mallocgc", "pkg.(*decoder).value", "pkg.(*decoder).span", "main.main"}
	for _, tc := range []struct {
		prefix string
		want   bool
	}{
		{"pkg.(*decoder).span", true},
		{"pkg.(*decoder)", true},
		{"runtime.", true},
		{"main.main", true},
		{"pkg.(*filter)", false},
		{"decoder", false}, // a prefix, not a substring
	} {
		if got := hasFrame(stack, tc.prefix); got != tc.want {
			t.Errorf("hasFrame(%q) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
}
