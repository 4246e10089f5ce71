// Package fuzzcheck holds what the fuzz targets share: a bound on the
// memory a parser may allocate for its input.
package fuzzcheck

import (
	"runtime"
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
