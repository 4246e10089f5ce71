package storefront

import (
	"testing"
	"time"
)

// 2, 4, 8, 16 s, then every 30 s, and none once 10 minutes were spent.
func TestPollDelaySequence(t *testing.T) {
	var got []time.Duration
	var total time.Duration
	for n := 0; n < 100; n++ {
		d := pollDelay(n)
		if d == 0 {
			break
		}
		got = append(got, d)
		total += d
	}
	s := time.Second
	want := []time.Duration{2 * s, 4 * s, 8 * s, 16 * s}
	for i := 0; i < 19; i++ {
		want = append(want, 30*s)
	}
	if len(got) != len(want) || total != 10*time.Minute {
		t.Fatalf("delays %v (%d, %v in all), want %v", got, len(got), total, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delay %d = %v, want %v", i, got[i], want[i])
		}
	}
	if pollDelay(maxPolls) != 0 {
		t.Fatal("polling never stops")
	}
}
