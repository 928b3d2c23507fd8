package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collector is a running otelcol-gateway child process whose log is kept.
type collector struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  bytes.Buffer
	done chan error
}

func binary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_GATEWAY_BIN")
	require.NotEmpty(t, bin, "OTELCOL_GATEWAY_BIN must name the built binary: run these tests with `make integration`")
	_, err := os.Stat(bin)
	require.NoError(t, err, "the binary named by OTELCOL_GATEWAY_BIN")
	return bin
}

func startCollector(t *testing.T, args ...string) *collector {
	t.Helper()
	c := &collector{cmd: exec.Command(binary(t), args...), done: make(chan error, 1)}
	stderr, err := c.cmd.StderrPipe()
	require.NoError(t, err)
	c.cmd.Stdout = c.cmd.Stderr
	require.NoError(t, c.cmd.Start())
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.log.Write(sc.Bytes())
			c.log.WriteByte('\n')
			c.mu.Unlock()
		}
		c.done <- c.cmd.Wait()
	}()
	t.Cleanup(func() {
		c.stop(t)
		if t.Failed() {
			t.Logf("collector log:\n%s", c.logText())
		}
	})
	return c
}

func (c *collector) logText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// stop sends SIGTERM and waits for a clean exit.
func (c *collector) stop(t *testing.T) {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		assert.NoError(t, err, "the collector exits 0 on SIGTERM")
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		t.Error("the collector did not stop within 30s of SIGTERM")
	}
}

func requirePortsFree(t *testing.T, ports ...int) {
	t.Helper()
	for _, p := range ports {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		require.NoError(t, err, "port %d must be free for the default configuration's test", p)
		ln.Close()
	}
}

func waitHTTP(t *testing.T, url string, wantStatus int) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == wantStatus
	}, 60*time.Second, 200*time.Millisecond, "waiting for %s", url)
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func countLines(s, substr string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}
