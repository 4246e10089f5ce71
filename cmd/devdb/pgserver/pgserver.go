// Package pgserver finds the PostgreSQL server programs and the user they
// run as: what cmd/devdb (the private database of make run and make test)
// and tests/pgcluster (the outage suite's own cluster) both need.
package pgserver

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
)

// ErrNoPrograms: no directory holds initdb, pg_ctl and postgres.
var ErrNoPrograms = errors.New("PostgreSQL server programs (initdb, pg_ctl, postgres) not found on PATH " +
	"or in /usr/lib/postgresql/*/bin: install PostgreSQL 15 (Debian: apt-get install postgresql)")

// BinDir returns the first directory holding initdb, pg_ctl and postgres:
// on PATH, else the newest /usr/lib/postgresql/*/bin (Debian and Ubuntu
// do not put the server programs on PATH).
func BinDir() (string, error) {
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for _, dir := range append(filepath.SplitList(os.Getenv("PATH")), NewestFirst(versioned)...) {
		if dir != "" && isExecutable(dir, "initdb") && isExecutable(dir, "pg_ctl") && isExecutable(dir, "postgres") {
			return dir, nil
		}
	}
	return "", ErrNoPrograms
}

// NewestFirst sorts /usr/lib/postgresql/VERSION/bin directories by
// descending version.
func NewestFirst(dirs []string) []string {
	v := func(dir string) float64 {
		f, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return f
	}
	sort.SliceStable(dirs, func(i, j int) bool { return v(dirs[i]) > v(dirs[j]) })
	return dirs
}

func isExecutable(dir, name string) bool {
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// PostgresUser returns the credentials of the postgres system user, whom
// PostgreSQL runs as when we are root (it refuses to run as root).
func PostgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("no \"postgres\" system user to run PostgreSQL as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user: %v", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
