package plugin

import (
	"context"
	"errors"
	"time"

	"github.com/twpay/twpay/plugin/pay"
)

// Reconcile asks every mounted gateway about attempts still waiting for
// money: payments whose callbacks never arrived are applied, and attempts
// past their deadline expire (the shopper then sees the retry panel).
// Call it after Mount. Safe to run on several instances at once.
func (p *Plugin) Reconcile(ctx context.Context, now time.Time) (pay.Report, error) {
	var total pay.Report
	var errs []error
	for _, r := range p.reconcilers {
		rep, err := r.Reconcile(ctx, now)
		total.Checked += rep.Checked
		total.Paid += rep.Paid
		total.Failed += rep.Failed
		total.Expired += rep.Expired
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// RunReconciler calls Reconcile every interval until ctx ends, logging
// what changed and any failure (the next run tries again).
func (p *Plugin) RunReconciler(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			rep, err := p.Reconcile(ctx, now)
			if err != nil {
				p.cfg.Logger.Warn("reconcile", "err", err)
			}
			if rep.Paid+rep.Failed+rep.Expired > 0 {
				p.cfg.Logger.Info("reconcile", "checked", rep.Checked, "paid", rep.Paid, "failed", rep.Failed, "expired", rep.Expired)
			}
		}
	}
}
