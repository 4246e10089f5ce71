package database

import (
	"runtime"
	"strings"
	"testing"
)

func TestPoolSize(t *testing.T) {
	def := 4 * runtime.GOMAXPROCS(0)
	cases := []struct {
		dsn, want string
		n         int
		err       bool
	}{
		{"postgres://u@h/db", "postgres://u@h/db", def, false},
		{"postgres://u@h/db?sslmode=disable&pool_max_conns=3", "postgres://u@h/db?sslmode=disable", 3, false},
		{"postgres://u@h/db?pool_max_conns=0", "", 0, true},
		{"postgres://u@h/db?pool_max_conns=x", "", 0, true},
		{"host=/tmp dbname=db", "host=/tmp dbname=db", def, false},
	}
	for _, c := range cases {
		dsn, n, err := poolSize(c.dsn)
		if (err != nil) != c.err || n != c.n || dsn != c.want {
			t.Errorf("poolSize(%q) = %q, %d, %v; want %q, %d, error %v", c.dsn, dsn, n, err, c.want, c.n, c.err)
		}
		if err != nil && !strings.Contains(err.Error(), "pool_max_conns") {
			t.Errorf("error %q does not name the parameter", err)
		}
	}
}
