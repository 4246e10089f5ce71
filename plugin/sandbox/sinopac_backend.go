package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// sinopacBackendPost is the BackendURL body: plain, unsigned JSON
// (sinopac.md §6), so a shop must confirm it with OrderPayQuery.
type sinopacBackendPost struct {
	ShopNo   string `json:"ShopNo"`
	PayToken string `json:"PayToken"`
}

// startDeliveryLocked starts the BackendURL deliveries of a just-paid order.
// Caller holds s.mu.
func (s *SinoPac) startDeliveryLocked(o *sinopacOrder) {
	if o.req.BackendURL == "" || s.closed || o.delivering || o.paid == nil {
		return
	}
	o.delivering = true
	s.wg.Add(1)
	go s.deliver(o, o.paid.token)
}

// deliver posts {ShopNo, PayToken} to BackendURL on the schedule until the
// shop acknowledges it, the schedule ends, or the sandbox closes.
func (s *SinoPac) deliver(o *sinopacOrder, token string) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		o.finished = true
		s.broadcastLocked()
		s.mu.Unlock()
	}()
	body, _ := sinopac.Marshal(sinopacBackendPost{ShopNo: o.shopNo, PayToken: token})
	for i, delay := range s.delays {
		if !sinopacSleep(s.ctx, delay) {
			return
		}
		d := s.postBackend(o.req.BackendURL, body)
		s.mu.Lock()
		o.deliveries = append(o.deliveries, d)
		o.acked = o.acked || d.Acked
		s.broadcastLocked()
		s.mu.Unlock()
		s.log.Info("BackendURL delivered", "shop", o.shopNo, "order", o.req.OrderNo, "attempt", i+1,
			"status", d.Status, "acked", d.Acked, "err", d.Err)
		if d.Acked {
			return
		}
	}
}

func sinopacSleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// postBackend sends one delivery and judges the answer: an ack is HTTP 200
// with a JSON body whose Status is "S" (sinopac.md §6).
func (s *SinoPac) postBackend(target string, body []byte) Delivery {
	d := Delivery{At: s.now()}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		d.Err = err.Error()
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "twpay-sandbox-sinopac")
	resp, err := s.client.Do(req)
	if err != nil {
		d.Err = err.Error()
		return d
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	d.Status = resp.StatusCode
	d.Body = sinopacTruncate(string(answer), 200)
	var ack struct {
		Status string `json:"Status"`
	}
	switch {
	case err != nil:
		d.Err = "reading answer: " + err.Error()
	case resp.StatusCode != http.StatusOK:
		d.Err = fmt.Sprintf("HTTP %d, want 200", resp.StatusCode)
	case json.Unmarshal(answer, &ack) != nil:
		d.Err = `answer is not JSON; want {"Status":"S"}`
	case ack.Status != sinopac.StatusSuccess:
		d.Err = fmt.Sprintf(`answer Status is %q; want {"Status":"S"}`, ack.Status)
	default:
		d.Acked = true
	}
	return d
}

// sinopacTruncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func sinopacTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
