package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"Server available"}`))
	}))
	defer srv.Close()

	var stderr bytes.Buffer
	if code := run([]string{srv.URL}, &stderr); code != 0 {
		t.Fatalf("200: exit %d, want 0 (%s)", code, stderr.String())
	}

	status = http.StatusServiceUnavailable
	stderr.Reset()
	if code := run([]string{srv.URL}, &stderr); code != 1 {
		t.Fatalf("503: exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "503") {
		t.Errorf("503: stderr %q does not name the status", stderr.String())
	}

	addr := srv.URL
	srv.Close()
	stderr.Reset()
	if code := run([]string{addr}, &stderr); code != 1 {
		t.Fatalf("refused: exit %d, want 1", code)
	}

	if code := run([]string{"a", "b"}, &stderr); code != 2 {
		t.Fatalf("two arguments: exit %d, want 2", code)
	}
}
