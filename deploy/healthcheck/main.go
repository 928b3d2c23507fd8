// Command healthcheck is the container image's HEALTHCHECK: the runtime image
// (distroless, static) has no shell, curl or wget, so this small static binary
// asks the collector's health_check extension and turns its answer into an
// exit code: 0 when it answers 2xx, 1 otherwise (refused, timed out, 503).
//
//	healthcheck [URL]   # default http://127.0.0.1:13133/
//
// It is its own module with no dependencies, so the image's build stage
// compiles it with the standard library alone.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

const defaultURL = "http://127.0.0.1:13133/"

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	url := defaultURL
	switch len(args) {
	case 0:
	case 1:
		url = args[0]
	default:
		fmt.Fprintln(stderr, "usage: healthcheck [URL]")
		return 2
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "unhealthy: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "unhealthy: %s answered %s\n", url, resp.Status)
		return 1
	}
	return 0
}
