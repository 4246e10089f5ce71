package pay

import (
	"context"
	"errors"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/metrics"
)

// The counting of Process, Begin and ReconcileAttempt, into the Metrics
// their context carries (none: nothing counted).

func countCallback(ctx context.Context, gatewayName, kind, reason string, out checkout.Outcome, err error) {
	m := metrics.FromContext(ctx)
	switch {
	case errors.Is(err, ErrRejected):
		m.Callback(gatewayName, kind, string(checkout.Rejected), reason)
	case err != nil:
		m.Callback(gatewayName, kind, metrics.VerdictError, "")
	default:
		m.Callback(gatewayName, kind, string(out.Verdict), "")
		m.Payment(gatewayName, string(out.Verdict))
	}
}

func countHandOff(ctx context.Context, gatewayName string, err error) {
	outcome := "started"
	switch {
	case errors.Is(err, ErrStartUnknown):
		outcome = "unknown"
	case errors.Is(err, ErrStartFailed):
		outcome = "failed"
	case err != nil:
		outcome = "error"
	}
	metrics.FromContext(ctx).HandOff(gatewayName, outcome)
}

// countReconcile counts one question's outcome: our own failure, not
// asked (paused gateway or not due), the gateway's failure, then what the
// answer did.
func countReconcile(ctx context.Context, gatewayName string, rep Report, queryErr, err error) {
	outcome := "unchanged"
	switch {
	case err != nil:
		outcome = "error"
	case rep.Checked == 0:
		outcome = "skipped"
	case queryErr != nil:
		outcome = "query_error"
	case rep.Review > 0:
		outcome = "review"
	case rep.Paid > 0:
		outcome = "paid"
	case rep.Failed > 0:
		outcome = "failed"
	case rep.Expired > 0:
		outcome = "expired"
	}
	metrics.FromContext(ctx).Reconcile(gatewayName, outcome)
}
