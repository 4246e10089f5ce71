// Package fuzzcheck holds what the fuzz targets share: a bound on the
// memory a parser may allocate for its input, and seeds written out as
// checked-in corpora.
package fuzzcheck

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Allocated returns how many bytes fn allocated on the heap.
func Allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Bounded fails t when fn allocates more than factor times n bytes plus a
// MiB: a parser given n bytes must cost memory in proportion to them, not
// be made to allocate without bound by what they say. Run it outside
// t.Parallel, or other tests' allocations count too.
func Bounded(t testing.TB, name string, n int, factor uint64, fn func()) {
	t.Helper()
	if got, limit := Allocated(fn), factor*uint64(n)+1<<20; got > limit {
		t.Errorf("%s: %d input bytes allocated %d bytes, more than %d", name, n, got, limit)
	}
}

// Seed adds args to f's seed corpus and, when TWPAY_FUZZ_SEEDS=write,
// also writes them to testdata/fuzz/<target>/ in Go's corpus format, so
// the checked-in corpora are the seeds the code names (regenerate with
// `TWPAY_FUZZ_SEEDS=write go test -run '^FuzzX$' ./pkg`).
func Seed(f *testing.F, args ...any) {
	f.Helper()
	f.Add(args...)
	if os.Getenv("TWPAY_FUZZ_SEEDS") != "write" {
		return
	}
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		case bool, int, int64, uint, uint16, uint64:
			fmt.Fprintf(&b, "%T(%v)\n", v, v)
		default:
			f.Fatalf("fuzzcheck.Seed: no corpus encoding for %T", a)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	dir := filepath.Join("testdata", "fuzz", f.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "seed-"+hex.EncodeToString(sum[:8])), []byte(b.String()), 0o644); err != nil {
		f.Fatal(err)
	}
}
