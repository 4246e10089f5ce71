package pay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/metrics"
)

// Report counts what reconciliation did.
type Report struct {
	Checked, Paid, Failed, Expired, Review, Errors int
}

// Add sums two reports.
func (r *Report) Add(o Report) {
	r.Checked += o.Checked
	r.Paid += o.Paid
	r.Failed += o.Failed
	r.Expired += o.Expired
	r.Review += o.Review
	r.Errors += o.Errors
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
	RequeryEvery = 10 * time.Minute // ask an attempt again this long after an answer
	maxBackOff   = 6 * time.Hour    // the longest wait after failed questions
	// DueBatch is the most attempts one scan enqueues; the next scan takes the rest.
	DueBatch = 1000
	// maxQueryFailures failed questions in a row (about four days with the
	// back-off) send an attempt to review.
	maxQueryFailures = 20
)

// backOff is the wait after n failed questions in a row: 10 minutes,
// doubling, at most 6 hours.
func backOff(n int) time.Duration {
	d := RequeryEvery
	for i := 1; i < n && d < maxBackOff; i++ {
		d *= 2
	}
	return min(d, maxBackOff)
}

// ReconcileAttempt asks the attempt's gateway about it once and applies
// what it says: a payment whose callbacks never arrived lands, an attempt
// past its deadline expires, an answer twpay must not guess about goes to
// review. queryErr is the gateway's failure (recorded on the attempt with
// a back-off; a pause is stored for every instance); err is our own
// (nothing recorded, try again).
func ReconcileAttempt(ctx context.Context, store *checkout.Store, ad Adapter, id int64) (rep Report, queryErr, err error) {
	defer func() { countReconcile(ctx, ad.Name(), rep, queryErr, err) }()
	a, err := store.Attempt(ctx, id)
	if err != nil {
		return rep, nil, err
	}
	if until, err := store.Paused(ctx, ad.Name()); err != nil || !until.IsZero() {
		return rep, nil, err
	}
	now, err := store.Now(ctx)
	if err != nil {
		return rep, nil, err
	}
	if a.NextQueryAt.After(now) {
		return rep, nil, nil // asked meanwhile (another job or instance): not due
	}
	rep.Checked++
	q, qerr := ad.Query(ctx, a, now)
	var pause *PauseError
	switch {
	case errors.As(qerr, &pause):
		rep.Errors++
		if err := store.Pause(ctx, ad.Name(), pause.For, qerr.Error()); err != nil {
			return rep, qerr, err
		}
		// The gateway-wide pause is not this attempt's failure.
		return rep, qerr, store.Postpone(ctx, a.ID, pause.For, qerr.Error())
	case qerr != nil && a.QueryFailures+1 >= maxQueryFailures:
		// Days of failed questions: stop guessing and show it to a human.
		rep.Errors++
		rep.Review++
		if err := store.Queried(ctx, a.ID, maxBackOff, qerr.Error()); err != nil {
			return rep, qerr, err
		}
		return rep, qerr, store.Review(ctx, a.ID, fmt.Sprintf("%d questions to the gateway failed; last: %v", a.QueryFailures+1, qerr))
	case qerr != nil:
		rep.Errors++
		return rep, qerr, store.Queried(ctx, a.ID, backOff(a.QueryFailures+1), qerr.Error())
	case q.Review != "":
		rep.Review++
		return rep, nil, store.Review(ctx, a.ID, q.Review)
	case q.Result != nil:
		out, err := store.Apply(ctx, checkout.Inbound{Gateway: ad.Name(), Kind: "reconcile", Body: q.Body, Result: *q.Result, Info: q.Info})
		if err != nil {
			return rep, nil, err
		}
		rep.count(out, q.Result.Outcome)
		metrics.FromContext(ctx).Payment(ad.Name(), string(out.Verdict))
	}
	next := RequeryEvery
	if q.Next > next {
		next = q.Next
	}
	return rep, nil, store.Queried(ctx, a.ID, next, "")
}

// Reconcile asks about every due attempt of the adapters now, one after
// the other (the background jobs do the same, one job per attempt). One
// attempt's failure does not stop the others.
func Reconcile(ctx context.Context, store *checkout.Store, adapters []Adapter) (Report, error) {
	var total Report
	byName := map[string]Adapter{}
	var names []string
	for _, ad := range adapters {
		byName[ad.Name()] = ad
		names = append(names, ad.Name())
	}
	ids, err := store.Due(ctx, names, DueBatch)
	if err != nil {
		return total, err
	}
	var errs []error
	for _, id := range ids {
		a, err := store.Attempt(ctx, id)
		if err != nil {
			return total, err
		}
		rep, qerr, err := ReconcileAttempt(ctx, store, byName[a.Gateway], id)
		total.Add(rep)
		if err != nil {
			return total, err
		}
		if qerr != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", a.Gateway, a.MerchantTradeNo, qerr))
		}
	}
	return total, errors.Join(errs...)
}
