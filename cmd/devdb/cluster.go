package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twpay/twpay/cmd/devdb/pgserver"
)

const (
	dbUser = "twpay"
	dbName = "twpay"
	// The server does not listen on TCP, so the port only names the socket
	// file; every cluster has its own socket directory, so there is no clash.
	port = 5432
)

// cluster is a private PostgreSQL cluster. Its fields record what start has
// done so far, so that close can undo exactly that.
type cluster struct {
	data    string              // data directory
	temp    bool                // data is ours to delete
	bin     string              // directory holding initdb, pg_ctl and postgres
	cred    *syscall.Credential // run PostgreSQL as this user (when we are root)
	sock    string              // socket directory we created, if any
	started bool                // we started the server, so we stop it
	reused  bool                // the server was already running
	durable bool                // keep fsync on even when temp
}

// start brings the cluster up, creates the database and returns its URL.
func (c *cluster) start() (string, error) {
	var err error
	if c.bin, err = findBinDir(); err != nil {
		return "", err
	}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		if c.cred, err = postgresUser(); err != nil {
			return "", err
		}
	}

	if c.data == "" {
		if c.data, err = os.MkdirTemp(os.TempDir(), "twpay-pgdata-"); err != nil {
			return "", err
		}
		c.temp = true
	} else if c.data, err = filepath.Abs(c.data); err != nil {
		return "", err
	}

	if _, err := os.Stat(filepath.Join(c.data, "PG_VERSION")); err != nil {
		if err := c.initdb(); err != nil {
			return "", err
		}
	} else if sock, port, ok := c.running(); ok {
		// Another devdb (say `make run` next to `make db`) owns the server:
		// use it, and leave stopping it to its owner.
		c.reused = true
		return c.createDB(sock, port)
	}

	// Unix socket paths must stay under ~100 bytes, so the socket gets a
	// short directory of its own rather than living in the data directory.
	if c.sock, err = os.MkdirTemp("/tmp", "twpay-pg-"); err != nil {
		return "", err
	}
	if err := c.handOver(c.sock); err != nil {
		return "", err
	}
	opts := fmt.Sprintf("-k '%s' -c listen_addresses='' -p %d", c.sock, port)
	if c.temp && !c.durable {
		opts += " -c fsync=off" // throwaway data: durability only costs time
	}
	c.started = true // even a failed start may leave a server behind
	if err := c.pg("pg_ctl", "start", "-D", c.data, "-l", c.logFile(), "-w", "-t", "30", "-o", opts); err != nil {
		return "", fmt.Errorf("%v\n%s", err, c.logTail())
	}
	return c.createDB(c.sock, port)
}

// initdb creates a new cluster in c.data.
func (c *cluster) initdb() error {
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(c.data, 0o700); err != nil { // initdb insists
		return err
	}
	if err := c.handOver(c.data); err != nil {
		return err
	}
	args := []string{"-D", c.data, "-A", "trust", "-U", dbUser, "-E", "UTF8", "--locale=" + pickLocale()}
	if c.temp {
		args = append(args, "--no-sync")
	}
	return c.pg("initdb", args...)
}

// running reports whether a server is already running on c.data and, if so,
// where its socket is.
func (c *cluster) running() (sock string, port int, ok bool) {
	if c.pg("pg_ctl", "status", "-D", c.data) != nil {
		return "", 0, false
	}
	// postmaster.pid: line 4 is the port, line 5 the socket directory.
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	lines := strings.Split(string(b), "\n")
	if err != nil || len(lines) < 5 {
		return "", 0, false
	}
	port, err = strconv.Atoi(strings.TrimSpace(lines[3]))
	return strings.TrimSpace(lines[4]), port, err == nil
}

// createDB waits for the server to accept connections, creates the database
// if it is missing and returns the database's URL.
func (c *cluster) createDB(sock string, port int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var conn *pgx.Conn
	var err error
	for {
		if conn, err = pgx.Connect(ctx, dbURL(sock, port, "postgres")); err == nil {
			break
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("server does not accept connections: %v\n%s", err, c.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer conn.Close(context.Background())

	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", dbName).Scan(&exists)
	if err == nil && !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+dbName)
	}
	if err != nil {
		return "", fmt.Errorf("creating database %s: %v", dbName, err)
	}
	return dbURL(sock, port, dbName), nil
}

// close stops the server if we started it and removes our temporary
// directories. It never removes a -data directory.
func (c *cluster) close() {
	// A start that failed half-way may or may not have left a server.
	if c.started && c.pg("pg_ctl", "status", "-D", c.data) == nil {
		if err := c.pg("pg_ctl", "stop", "-D", c.data, "-m", "fast", "-w"); err != nil {
			fmt.Fprintln(os.Stderr, "devdb:", err)
		}
	}
	if c.sock != "" {
		os.RemoveAll(c.sock)
	}
	if c.temp {
		os.RemoveAll(c.data)
	}
}

// pg runs one of the PostgreSQL programs, as the postgres user when we are
// root. Its output is only shown if it fails.
func (c *cluster) pg(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = "/" // the checkout may be out of the postgres user's reach
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", cmd, err, bytes.TrimSpace(out))
	}
	return nil
}

// handOver gives dir to the postgres user when we are root, and checks that
// this user can reach it at all.
func (c *cluster) handOver(dir string) error {
	if c.cred == nil {
		return nil
	}
	if err := searchable(filepath.Dir(dir), c.cred.Uid, c.cred.Gid); err != nil {
		return err
	}
	return os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid))
}

func (c *cluster) logFile() string { return filepath.Join(c.data, "devdb-server.log") }

// logTail returns the end of the server log, which says why a start failed.
func (c *cluster) logTail() string {
	b, err := os.ReadFile(c.logFile())
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "server log " + c.logFile() + ":\n" + strings.Join(lines, "\n")
}

// String describes the cluster for the user.
func (c *cluster) String() string {
	b, _ := os.ReadFile(filepath.Join(c.data, "PG_VERSION"))
	s := "PostgreSQL " + strings.TrimSpace(string(b))
	switch {
	case c.temp:
		return "throwaway " + s
	case c.reused:
		return s + " already running in " + c.data + " (not ours, so left running)"
	}
	return s + " in " + c.data
}

// dbURL is the URL of database db on the server listening in socket
// directory sock.
func dbURL(sock string, port int, db string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d&sslmode=disable", dbUser, db, sock, port)
}

// findBinDir is pgserver.BinDir, naming devdb's other way out.
func findBinDir() (string, error) {
	dir, err := pgserver.BinDir()
	if err != nil {
		return "", fmt.Errorf("%w, or set DATABASE_URL to an existing database", err)
	}
	return dir, nil
}

// postgresUser is pgserver.PostgresUser, saying why devdb needs it.
func postgresUser() (*syscall.Credential, error) {
	cred, err := pgserver.PostgresUser()
	if err != nil {
		return nil, fmt.Errorf("running as root, but PostgreSQL refuses to run as root (%v): create the user "+
			"(Debian's postgresql package does), run as a normal user, or set DATABASE_URL", err)
	}
	return cred, nil
}

// searchable checks that uid/gid (without supplementary groups, as we start
// PostgreSQL) may enter dir and every directory above it.
func searchable(dir string, uid, gid uint32) error {
	for {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		bit := os.FileMode(0o001) // Unix uses the owner, group or other bits, whichever matches first.
		switch {
		case st.Uid == uid:
			bit = 0o100
		case st.Gid == gid:
			bit = 0o010
		}
		if fi.Mode()&bit == 0 {
			return fmt.Errorf("the postgres user cannot enter %s; use a directory it can reach (e.g. under /var/tmp)", dir)
		}
		if parent := filepath.Dir(dir); parent != dir {
			dir = parent
		} else {
			return nil
		}
	}
}

// pickLocale prefers C.UTF-8 (byte-order sorting, but Unicode-aware
// upper/lower) and falls back to plain C where it is not installed.
func pickLocale() string {
	out, _ := exec.Command("locale", "-a").Output()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.ToLower(sc.Text()); l == "c.utf8" || l == "c.utf-8" {
			return "C.UTF-8"
		}
	}
	return "C"
}
