// Command ddsink stands in for Datadog's intake in bench/datadog-ab.sh: it
// answers every request (traces, stats, metrics, key validation) with 202
// and counts them, so that the datadog exporter's cost is measured without
// the network.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

func main() {
	var requests, bytes atomic.Int64
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Addr().String())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		requests.Add(1)
		bytes.Add(n)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"valid":true}`))
	})}
	go func() { _ = srv.Serve(l) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	_ = srv.Close()
	fmt.Fprintf(os.Stderr, "ddsink: %d requests, %d bytes\n", requests.Load(), bytes.Load())
}
