// Package e2e drives every shopper journey in Chromium against the real
// storefront binary (what `make run` serves), on a free port and a
// throwaway database, at a desktop and a phone width, in both languages.
// Each step leaves a screenshot under e2e-screenshots/ (git-ignored) and
// is checked with axe-core; a failing step also leaves the page's HTML.
//
// `make e2e` runs only these tests against bin/storefront; `make test`
// runs them too (this package builds the binary itself then).
package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twpay/twpay/tests/testdb"
)

// moduleRoot is the checkout this package lives in (tests/e2e).
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// storefrontBinary is TWPAY_E2E_BIN (make e2e builds bin/storefront), or a
// fresh build of cmd/storefront, so `go test ./...` tests the current code.
func storefrontBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("TWPAY_E2E_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("TWPAY_E2E_BIN: %v", err)
		}
		return bin
	}
	bin := filepath.Join(t.TempDir(), "storefront")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/storefront")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/storefront: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer collects the server's output from its pipe goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeAddr asks the kernel for a free port on the loopback interface. The
// port is released before the server binds it; startServer retries if
// someone else takes it in between.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs `storefront serve` as `make run` does (sandbox mode,
// local sandboxes) on its own database and a free port, and returns its
// base URL once /healthz answers. The shop is opened on the base URL's own
// host, or the session cookie would be lost at the gateway hand-off.
func startServer(t *testing.T) string {
	t.Helper()
	bin := storefrontBinary(t)
	_, dsn := testdb.New(t)
	for try := 0; ; try++ {
		base, err := tryStart(t, bin, dsn)
		if err == nil {
			return base
		}
		if try == 2 {
			t.Fatal(err)
		}
		t.Logf("starting the server, again: %v", err)
	}
}

func tryStart(t *testing.T, bin, dsn string) (string, error) {
	addr := freeAddr(t)
	base := "http://" + addr
	var env []string
	for _, kv := range os.Environ() {
		// The host's own TWPAY_* settings must not leak into the demo.
		if !strings.HasPrefix(kv, "TWPAY_") && !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "ADDR=") {
			env = append(env, kv)
		}
	}
	env = append(env, "DATABASE_URL="+dsn, "ADDR="+addr, "TWPAY_BASE_URL="+base, "TWPAY_MODE=sandbox",
		"TWPAY_SESSION_SECRET=e2e-session-secret-e2e-session-secret-0123")
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			return "", fmt.Errorf("storefront serve exited: %v\n%s", err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("storefront serve did not become healthy in 60s:\n%s", logs.String())
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("storefront serve's log:\n%s", logs.String())
		}
	})
	return base, nil
}
