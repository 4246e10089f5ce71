package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestDBURLAcceptedByPgx(t *testing.T) {
	cfg, err := pgx.ParseConfig(dbURL("/tmp/twpay-pg-123", 5432, "twpay"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "/tmp/twpay-pg-123" || cfg.Port != 5432 || cfg.User != "twpay" || cfg.Database != "twpay" || cfg.TLSConfig != nil {
		t.Errorf("got host=%q port=%d user=%q db=%q tls=%v", cfg.Host, cfg.Port, cfg.User, cfg.Database, cfg.TLSConfig != nil)
	}
}

func TestSearchable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b") // t.TempDir is 0700, ours
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if err := searchable(dir, uid, gid); err != nil {
		t.Errorf("owner: %v", err)
	}
	const nobody = 65534
	if err := searchable(dir, nobody, nobody); err == nil {
		t.Error("other user, 0700 ancestor: want an error")
	}
	if err := os.Chmod(filepath.Dir(dir), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Dir(dir), 0o700) // so that the clean-up can remove it
	if err := searchable(dir, uid, gid); err == nil {
		t.Error("owner, 0600 parent: want an error")
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{{"exit 0", 0}, {"exit 3", 3}, {"kill -TERM $$", 143}} {
		if got := exitCode(exec.Command("sh", "-c", tc.script).Run()); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.script, got, tc.want)
		}
	}
}
