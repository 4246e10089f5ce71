package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// adminHeading starts the admin section of RESULTS.md (up to the next
// "## " heading): `-only admin` replaces just that part of the file.
const adminHeading = "## Admin order table at "

// adminSection measures the back office's order table on orders of its
// own (admin.TestOrderTableAtScale generates them in a fresh database on
// the same PostgreSQL: every status, gateway and method, a year of them),
// and returns the Markdown section.
func adminSection(orders int) (string, error) {
	out, err := os.CreateTemp("", "twpay-bench-admin-*.md")
	if err != nil {
		return "", err
	}
	out.Close()
	defer os.Remove(out.Name())
	began := time.Now()
	cmd := exec.Command("go", "test", "./admin/", "-run", "^TestOrderTableAtScale$", "-count=1", "-v", "-timeout", "180m")
	cmd.Env = append(os.Environ(), "TWPAY_ADMIN_ORDERS="+strconv.Itoa(orders), "TWPAY_ADMIN_REPORT="+out.Name())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr // the plans go to the log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("admin order table: %w", err)
	}
	table, err := os.ReadFile(out.Name())
	if err != nil {
		return "", err
	}
	load, _ := os.ReadFile("/proc/loadavg") // what else ran meanwhile shows in the figures
	if f := strings.Fields(string(load)); len(f) >= 3 {
		load = []byte(strings.Join(f[:3], " "))
	}
	return fmt.Sprintf("%s%d orders\n\nMeasured in %s (load average at the end: %s, on %d cores). "+
		"Reproduce alone: `make bench BENCH_FLAGS='-only admin -orders %d'`.\n\n%s",
		adminHeading, orders, time.Since(began).Round(time.Second), load, runtime.NumCPU(), orders, table), nil
}

// spliceSection puts section into the report at path in place of the old
// one (or at the end), keeping the rest of the file.
func spliceSection(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	if i := strings.Index(s, adminHeading); i >= 0 {
		rest := ""
		if j := strings.Index(s[i+len(adminHeading):], "\n## "); j >= 0 {
			rest = s[i+len(adminHeading)+j+1:]
		}
		s = s[:i] + section + "\n" + rest
	} else {
		s = strings.TrimRight(s, "\n") + "\n\n" + section
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
