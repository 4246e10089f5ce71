package main

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// callResult is one runCalls run: a loadResult, plus how many of the n
// items were handed out (Started) and whether they ran out before the
// deadline.
type callResult struct {
	loadResult
	Started int
	RanOut  bool
}

// runCalls drives any request (runLoad is the form-post case): from
// `clients` keep-alive connections for d, call(client, i) for i = 0, 1, ...
// (each once, unless cycle is set, when i wraps around n). call reports
// whether the answer is the acknowledgement; an error is a failed request.
func runCalls(clients int, d time.Duration, n int, cycle bool, call func(ctx context.Context, c *http.Client, i int) (bool, error)) callResult {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx := context.Background()
	var next atomic.Int64
	var acked, errs atomic.Int64
	var ranOut atomic.Bool
	lat := make([][]time.Duration, clients)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= n {
					if !cycle {
						ranOut.Store(true)
						return
					}
					i %= n
				}
				t0 := time.Now()
				ok, err := call(ctx, client, i)
				if err != nil {
					errs.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
				if ok {
					acked.Add(1)
				} else {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := callResult{loadResult: loadResult{Requests: len(all), Acked: int(acked.Load()), Errors: int(errs.Load()), Elapsed: time.Since(start)},
		Started: min(int(next.Load()), n), RanOut: ranOut.Load()}
	if cycle {
		r.Started = n
	}
	if len(all) > 0 {
		r.P50, r.P99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}
