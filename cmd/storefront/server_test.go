package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// The server closes a client that trickles its body and an idle
// keep-alive connection (short limits for the test, real TCP).
func TestServerClosesSlowAndIdleConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limits := serverLimits{readHeader: 200 * time.Millisecond, read: 300 * time.Millisecond, write: time.Second,
		idle: 300 * time.Millisecond, maxHeaderBytes: 4 << 10}
	srv := newServer("", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}), limits)
	go srv.Serve(ln) //nolint:errcheck // closed below
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	// closed reports whether the server ended conn within a bound far
	// above the limits (a failure, not a measurement).
	closed := func(conn net.Conn) bool {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadAll(conn)
		return err == nil || !isTimeout(err)
	}

	t.Run("slow body", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
		stop := make(chan struct{})
		go func() { // one byte every 50 ms: 50 s for the whole body
			for i := 0; i < 1000; i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
			}
		}()
		defer close(stop)
		if !closed(conn) {
			t.Fatal("a trickling body kept its connection")
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		buf := make([]byte, 512)
		if n, err := conn.Read(buf); err != nil || n == 0 {
			t.Fatalf("no answer: %v", err)
		}
		if !closed(conn) {
			t.Fatal("an idle keep-alive connection stayed open")
		}
	})
	t.Run("header too large", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %0*d\r\n\r\n", 16<<10, 0)
		buf := make([]byte, 64)
		n, _ := conn.Read(buf)
		if got := string(buf[:n]); len(got) < 12 || got[9:12] != "431" {
			t.Fatalf("a 16 KiB header: %q, want 431", got)
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
