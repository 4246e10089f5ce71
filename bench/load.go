package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is one HTTP load run.
type loadResult struct {
	Requests, Acked, Errors int
	Elapsed                 time.Duration
	P50, P99                time.Duration
}

func (r loadResult) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// runLoad posts bodies (in order, each once; cycling when cycle is set)
// from `clients` keep-alive connections for d, and counts the answers
// that are exactly ack.
func runLoad(url string, bodies []string, cycle bool, clients int, d time.Duration, ack string) loadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next atomic.Int64
	var acked, errs atomic.Int64
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
				if i >= len(bodies) {
					if !cycle {
						return
					}
					i %= len(bodies)
				}
				t0 := time.Now()
				res, err := client.Post(url, "application/x-www-form-urlencoded", strings.NewReader(bodies[i]))
				if err != nil {
					errs.Add(1)
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				if res.StatusCode == 200 && string(b) == ack {
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
	r := loadResult{Requests: len(all), Acked: int(acked.Load()), Errors: int(errs.Load()), Elapsed: time.Since(start)}
	if len(all) > 0 {
		r.P50, r.P99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}
