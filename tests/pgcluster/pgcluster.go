// Package pgcluster starts a private PostgreSQL cluster for one test that
// stops or freezes its database (the outage suite): that must never be
// the server every other test shares through DATABASE_URL. It does what
// cmd/devdb does (initdb and pg_ctl, as the postgres user when we are
// root; a unix socket only, fsync off), plus what an outage needs: an
// immediate stop and restart, and freezing every process of the cluster.
package pgcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twpay/twpay/cmd/devdb/pgserver"
)

const (
	dbUser = "twpay"
	port   = 5432 // names only the socket file: every cluster has its own directory
)

// Cluster is a running private cluster; Start removes it when the test ends.
type Cluster struct {
	bin, data, sock string
	cred            *syscall.Credential

	mu     sync.Mutex
	frozen []int // pids stopped by Freeze, postmaster first
}

// Start creates and starts a throwaway cluster with a database "twpay".
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin, err := pgserver.BinDir()
	if err != nil {
		t.Fatalf("the outage suite stops and freezes a PostgreSQL of its own: %v", err)
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		if c.cred, err = pgserver.PostgresUser(); err != nil {
			t.Fatalf("running as root: %v", err)
		}
	}
	// Outside the checkout and under 100 bytes (the socket path limit);
	// /tmp is reachable by the postgres user.
	if c.data, err = os.MkdirTemp("/tmp", "twpay-outage-data-"); err != nil {
		t.Fatal(err)
	}
	if c.sock, err = os.MkdirTemp("/tmp", "twpay-outage-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Thaw()
		if c.running() {
			c.pg("pg_ctl", "stop", "-D", c.data, "-m", "immediate", "-w") //nolint:errcheck // throwaway data
		}
		os.RemoveAll(c.data)
		os.RemoveAll(c.sock)
	})
	for _, dir := range []string{c.data, c.sock} {
		if c.cred != nil {
			if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.pg("initdb", "-D", c.data, "-A", "trust", "-U", dbUser, "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, strings.Replace(c.URL(), "/twpay?", "/postgres?", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE twpay"); err != nil {
		t.Fatal(err)
	}
	return c
}

// URL is the database's postgres:// URL.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://%s@/twpay?host=%s&port=%d&sslmode=disable", dbUser, c.sock, port)
}

// StopImmediate kills the server as a crash would (pg_ctl stop -m
// immediate: no checkpoint, every backend gone at once, crash recovery on
// the next start).
func (c *Cluster) StopImmediate() error {
	return c.pg("pg_ctl", "stop", "-D", c.data, "-m", "immediate", "-w", "-t", "30")
}

// Restart starts the server and waits until it accepts connections.
func (c *Cluster) Restart() error {
	opts := fmt.Sprintf("-k '%s' -c listen_addresses='' -p %d -c fsync=off -c max_connections=100", c.sock, port)
	if err := c.pg("pg_ctl", "start", "-D", c.data, "-l", filepath.Join(c.data, "server.log"), "-w", "-t", "60", "-o", opts); err != nil {
		return fmt.Errorf("%v\n%s", err, c.LogTail())
	}
	return nil
}

// Freeze stops (SIGSTOP) the postmaster and then every process it forked:
// the server holds its sockets but answers nothing, as a host frozen by
// a hypervisor or a swap storm would. The postmaster is stopped first, so
// no backend is forked after the list is read. Thaw undoes it; a test
// that freezes registers Thaw with t.Cleanup.
func (c *Cluster) Freeze() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pm, err := c.postmaster()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pm, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("SIGSTOP postmaster %d: %w", pm, err)
	}
	c.frozen = append(c.frozen, pm)
	kids, err := children(pm)
	if err != nil {
		return err
	}
	for _, pid := range kids {
		if syscall.Kill(pid, syscall.SIGSTOP) == nil {
			c.frozen = append(c.frozen, pid)
		}
	}
	return nil
}

// Thaw continues (SIGCONT) every process Freeze stopped; it is safe to
// call when nothing is frozen.
func (c *Cluster) Thaw() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, pid := range c.frozen {
		syscall.Kill(pid, syscall.SIGCONT) //nolint:errcheck // a process gone is not frozen
	}
	c.frozen = nil
}

// Frozen is how many processes Freeze stopped.
func (c *Cluster) Frozen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frozen)
}

// LogTail is the end of the server log.
func (c *Cluster) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(c.data, "server.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// postmaster reads the postmaster's pid (postmaster.pid, line 1).
func (c *Cluster) postmaster() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("server not running: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

func (c *Cluster) running() bool { return c.pg("pg_ctl", "status", "-D", c.data) == nil }

// children lists the processes whose parent is pid (/proc/*/stat).
func children(pid int) ([]int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut after ")".
		i := bytes.LastIndexByte(b, ')')
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == pid {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			out = append(out, child)
		}
	}
	return out, nil
}

// pg runs a PostgreSQL program, as the postgres user when we are root.
func (c *Cluster) pg(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = "/"
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill() //nolint:errcheck
		<-done
	}
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", cmd, err, bytes.TrimSpace(out))
	}
	return nil
}
