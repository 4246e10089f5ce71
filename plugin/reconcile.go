package plugin

import (
	"context"
	"time"

	"github.com/twpay/twpay/plugin/metrics"
	"github.com/twpay/twpay/plugin/pay"
)

// Reconcile asks the enabled gateways, now, about every attempt that is
// due (the background jobs do this every Config.ReconcileEvery, one job per
// attempt): payments whose callbacks never arrived are applied, attempts
// past their deadline expire, answers twpay must not guess about go to
// review. Safe beside the background jobs: every result goes through the
// same idempotent Apply.
func (p *Plugin) Reconcile(ctx context.Context) (pay.Report, error) {
	return pay.Reconcile(metrics.NewContext(ctx, p.metrics), p.store, p.registry.Adapters())
}

// Start runs twpay's background work on River: side effects to
// Config.OnSideEffect and reconciliation. Several instances on one
// database share the work. Stop ends it.
func (p *Plugin) Start(ctx context.Context) error { return p.jobs.Start(ctx) }

// Stop lets running jobs finish until ctx ends, then cancels them.
func (p *Plugin) Stop(ctx context.Context) error { return p.jobs.Stop(ctx) }

// Run is Start, then Stop (waiting up to 10 s for running jobs) when ctx
// ends. Typically `go p.Run(ctx)`.
func (p *Plugin) Run(ctx context.Context) error {
	// River's Start context is its jobs' context: cancelling it would
	// cancel running jobs at once (a hard stop). Stop below is graceful.
	if err := p.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return p.Stop(stop)
}
