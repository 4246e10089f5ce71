package main

import (
	"context"
	"io"
	"net/http"
	"strings"
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
	return runCalls(clients, d, len(bodies), cycle, func(ctx context.Context, c *http.Client, i int) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(bodies[i]))
		if err != nil {
			return false, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		if err != nil {
			return false, err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode == 200 && string(b) == ack, nil
	}).loadResult
}
