package pay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
)

// Report counts what one reconciliation run did.
type Report struct {
	Checked, Paid, Failed, Expired int
}

// Add sums two reports.
func (r *Report) Add(o Report) {
	r.Checked += o.Checked
	r.Paid += o.Paid
	r.Failed += o.Failed
	r.Expired += o.Expired
}

func (r *Report) count(o checkout.Outcome, g gateway.Outcome) {
	if o.Verdict != checkout.Applied {
		return
	}
	switch g {
	case gateway.Paid:
		r.Paid++
	case gateway.Failed:
		r.Failed++
	case gateway.Expired:
		r.Expired++
	}
}

// Timing of reconciliation, shared by the gateways.
const (
	reconcileBatch = 100              // attempts per gateway per run
	requeryEvery   = 10 * time.Minute // leave an attempt alone this long after asking
)

// Reconcile asks each adapter about its attempts still waiting for money:
// it recovers payments whose callbacks never arrived and expires attempts
// that can no longer be paid. One attempt's failure does not stop the
// others; ErrPaused stops that gateway's run. Every result goes through
// the same idempotent Apply as a callback, so concurrent runs are safe.
func Reconcile(ctx context.Context, store *checkout.Store, adapters []Adapter, now time.Time) (Report, error) {
	var total Report
	var errs []error
	for _, ad := range adapters {
		rep, err := reconcileOne(ctx, store, ad, now)
		total.Add(rep)
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

func reconcileOne(ctx context.Context, store *checkout.Store, ad Adapter, now time.Time) (Report, error) {
	var rep Report
	attempts, err := store.Unsettled(ctx, ad.Name(), now.Add(-ad.QueryAfter()), reconcileBatch)
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, a := range attempts {
		if now.Sub(a.LastQueried()) < requeryEvery {
			continue
		}
		rep.Checked++
		q, err := ad.Query(ctx, a, now)
		if errors.Is(err, ErrPaused) {
			rep.Checked--
			if err != ErrPaused { //nolint:errorlint // the bare sentinel means "still paused": nothing new to report
				errs = append(errs, fmt.Errorf("%s: %w", ad.Name(), err))
			}
			break
		}
		if err != nil || q.Result == nil {
			if err != nil {
				errs = append(errs, fmt.Errorf("%s query %s: %w", ad.Name(), a.MerchantTradeNo, err))
			}
			if err := store.MarkQueried(ctx, a.ID, now); err != nil {
				return rep, err
			}
			continue
		}
		out, err := store.Apply(ctx, checkout.Inbound{Gateway: ad.Name(), Kind: "reconcile", Body: q.Body, Result: *q.Result, Info: q.Info})
		if err != nil && !isMismatch(err) { // a mismatch is recorded as rejected; go on
			return rep, err
		}
		rep.count(out, q.Result.Outcome)
	}
	return rep, errors.Join(errs...)
}
