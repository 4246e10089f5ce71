package plugin

import (
	"context"
	"time"

	"github.com/twpay/twpay/plugin/pay"
)

// Reconcile asks every mounted gateway about attempts still waiting for
// money: payments whose callbacks never arrived are applied, and attempts
// past their deadline expire (the shopper then sees the retry panel).
// Safe to run on several instances at once; Run
// takes a lease so that normally only one does.
func (p *Plugin) Reconcile(ctx context.Context, now time.Time) (pay.Report, error) {
	return pay.Reconcile(ctx, p.store, p.registry.Adapters(), now)
}

// reconcileLease names the lease under which one instance reconciles.
const reconcileLease = "twpay.reconcile"

// Run does twpay's background work until ctx ends: reconciliation every
// Config.ReconcileEvery (on one instance at a time, under a lease in
// Postgres, because gateways rate-limit queries) and outbox delivery to
// Config.OnOutbox every Config.OutboxEvery (on every instance; they share
// the work). Call it after Mount, typically as `go p.Run(ctx)`.
func (p *Plugin) Run(ctx context.Context) {
	go p.every(ctx, p.cfg.OutboxEvery, p.deliverOutbox)
	p.every(ctx, p.cfg.ReconcileEvery, p.reconcileUnderLease)
}

func (p *Plugin) every(ctx context.Context, d time.Duration, job func(context.Context, time.Time)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			job(ctx, now)
		}
	}
}

func (p *Plugin) reconcileUnderLease(ctx context.Context, now time.Time) {
	// The lease outlives one interval, so its holder keeps it by renewing.
	held, err := p.store.AcquireLease(ctx, reconcileLease, p.cfg.InstanceID, now, 2*p.cfg.ReconcileEvery)
	if err != nil || !held {
		if err != nil {
			p.cfg.Logger.Warn("reconcile lease", "err", err)
		}
		return
	}
	rep, err := p.Reconcile(ctx, now)
	if err != nil {
		p.cfg.Logger.Warn("reconcile", "err", err)
	}
	if rep.Paid+rep.Failed+rep.Expired > 0 {
		p.cfg.Logger.Info("reconcile", "checked", rep.Checked, "paid", rep.Paid, "failed", rep.Failed, "expired", rep.Expired)
	}
}

func (p *Plugin) deliverOutbox(ctx context.Context, _ time.Time) {
	if p.cfg.OnOutbox == nil {
		return
	}
	delivered, failed, err := p.store.DeliverOutbox(ctx, 100, p.cfg.OnOutbox)
	if err != nil {
		p.cfg.Logger.Warn("outbox", "err", err)
	}
	if failed > 0 {
		p.cfg.Logger.Warn("outbox", "delivered", delivered, "failed", failed)
	}
}
