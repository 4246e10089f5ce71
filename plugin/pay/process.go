package pay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/metrics"
)

// Process is the one path every callback takes: verify, record, apply at
// most once. It returns an error wrapping ErrRejected for a forgery or a
// malformed body (recorded as rejected, truncated; answer 4xx) and any
// other error for our own failure (nothing committed; answer 5xx without
// the acknowledgement). Verified money that matches no attempt is not an
// error: it is recorded as unmatched, the host is told, and the gateway is
// acknowledged, since retrying cannot fix it.
func Process(ctx context.Context, store *checkout.Store, gatewayName string, cb Callback, body []byte, remote string) (out checkout.Outcome, err error) {
	reason := metrics.ReasonVerify // what a rejection counts as (metrics.go)
	defer func() { countCallback(ctx, gatewayName, cb.Kind, reason, out, err) }()
	in := checkout.Inbound{Gateway: gatewayName, Kind: cb.Kind, Body: string(body), RemoteAddr: remote}
	reject := func(err error) (checkout.Outcome, error) {
		if err := store.Reject(ctx, in, err); err != nil {
			return checkout.Outcome{}, err
		}
		return checkout.Outcome{Verdict: checkout.Rejected, Reason: err.Error()}, err
	}
	if !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
		reason = metrics.ReasonEncoding
		return reject(Rejectf("body is not valid UTF-8 text (%d bytes)", len(body)))
	}
	key := keyOf(cb, body)
	if key != "" {
		if out, err, seen := replay(ctx, store, in, key); seen {
			reason = metrics.ReasonReplay
			return out, err
		}
	}
	v, err := verify(ctx, gatewayName, key, cb, body)
	in.Result, in.Info, in.DedupeKey = v.Result, v.Info, v.DedupeKey
	in.Result.MerchantTradeNo = strings.TrimSpace(in.Result.MerchantTradeNo)
	if errors.Is(err, ErrRejected) {
		return reject(err)
	}
	if err != nil {
		return checkout.Outcome{}, err
	}
	if checkout.IsSelfTest(in.Result) { // verified: a forged one was rejected above
		return store.RecordSelfTest(ctx, in)
	}
	return store.Apply(ctx, in)
}

// inflight joins concurrent verifications of one replay key; recent keeps
// settled answers for a short while, for the posts that arrive before the
// first one's event is in the log.
var (
	inflight singleflight.Group
	recent   = &verdictCache{m: map[string]cached{}}
)

type cached struct {
	v   Verified
	err error
	at  time.Time
}

// verdictCache holds settled verifications by replay key for a minute,
// at most 10,000 of them.
type verdictCache struct {
	mu sync.Mutex
	m  map[string]cached
}

func (c *verdictCache) get(id string) (Verified, error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || time.Since(e.at) > time.Minute {
		return Verified{}, nil, false
	}
	return e.v, e.err, true
}

func (c *verdictCache) put(id string, v Verified, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= 10000 {
		clear(c.m)
	}
	c.m[id] = cached{v, err, time.Now()}
}

// keyOf reads cb's replay key from body, or "".
func keyOf(cb Callback, body []byte) string {
	if cb.Key == nil {
		return ""
	}
	return cb.Key(body)
}

// verify runs cb.Verify. Concurrent posts with one replay key (the
// browser's return and the bank's notification together) ask the gateway
// once between them, and a settled answer is reused for a minute.
func verify(ctx context.Context, gatewayName, key string, cb Callback, body []byte) (Verified, error) {
	if key == "" {
		return cb.Verify(ctx, body)
	}
	type verified struct {
		v   Verified
		err error
	}
	id := gatewayName + "\x00" + key
	r, _, _ := inflight.Do(id, func() (any, error) {
		if v, err, ok := recent.get(id); ok {
			return verified{v, err}, nil
		}
		v, err := cb.Verify(ctx, body)
		if v.DedupeKey != "" { // the gateway's own word: settled
			recent.put(id, v, err)
		}
		return verified{v, err}, nil
	})
	return r.(verified).v, r.(verified).err
}

// replay answers a callback whose replay key the event log already holds,
// without verifying it again: the same answer as last time, recorded.
func replay(ctx context.Context, store *checkout.Store, in checkout.Inbound, key string) (checkout.Outcome, error, bool) {
	verdict, ev, err := store.Seen(ctx, in.Gateway, key)
	switch {
	case err != nil:
		return checkout.Outcome{}, err, true
	case verdict == "":
		return checkout.Outcome{}, nil, false
	case verdict == checkout.Rejected:
		err := Rejectf("replay key %s was refused before: %s", key, ev.Reason)
		if rerr := store.Reject(ctx, in, err); rerr != nil {
			return checkout.Outcome{}, rerr, true
		}
		return checkout.Outcome{Verdict: checkout.Rejected, Reason: err.Error()}, err, true
	}
	out, err := store.Repeat(ctx, in, key, ev)
	return out, err, true
}

// Rejectf wraps a rejection reason in ErrRejected.
func Rejectf(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrRejected, fmt.Errorf(format, args...))
}

// ErrStartFailed: the gateway refused or could not be reached when an
// attempt started; the attempt is marked failed and the shopper is shown
// the order's page (failure panel with a retry, not a spinner).
var ErrStartFailed = errors.New("payment could not be started")

// startTimeout bounds a hand-off call to a gateway.
const startTimeout = 30 * time.Second

// Begin starts one attempt with m: it asks the gateway, records what was
// asked and answered, and remembers a hosted page or the codes the gateway
// issued. The call runs on a context detached from the shopper's request
// (a closed tab must not cancel a trade mid-flight) with its own deadline.
// When the gateway refuses it marks the attempt failed and returns
// Start{ShowOrder: true} with an error wrapping ErrStartFailed; when the
// outcome is unknown (ErrStartUnknown) the attempt stays pending for
// reconciliation, with the same answer. Any other error is our own.
func Begin(ctx context.Context, store *checkout.Store, m Method, h HandOff) (st Start, err error) {
	defer func() { countHandOff(ctx, m.Gateway(), err) }()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startTimeout)
	defer cancel()
	st, err = m.Start(ctx, h)
	for _, x := range st.Exchanges {
		if rerr := store.Record(ctx, h.Attempt, x.Kind, x.Body); rerr != nil {
			return Start{}, rerr
		}
	}
	if errors.Is(err, ErrStartUnknown) {
		if uerr := store.StartUnknown(ctx, h.Attempt.ID); uerr != nil {
			return Start{}, errors.Join(err, uerr)
		}
		return Start{ShowOrder: true}, err
	}
	if err == nil {
		err = store.Started(ctx, h.Attempt.ID, st.PayURL, st.PayURLExpires, st.Info)
	}
	if err == nil && st.Issued != nil {
		_, err = store.Apply(ctx, checkout.Inbound{Gateway: m.Gateway(), Kind: "start", Body: st.IssuedBody,
			Result: st.Issued.Result, Info: st.Issued.Info})
	}
	if err != nil {
		if ferr := store.FailAttempt(ctx, h.Attempt, err.Error()); ferr != nil {
			return Start{}, errors.Join(err, ferr)
		}
		return Start{ShowOrder: true}, fmt.Errorf("%w: %w", ErrStartFailed, err)
	}
	return st, nil
}
