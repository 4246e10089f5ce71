package plugin

import (
	"context"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/metrics"
	"github.com/twpay/twpay/plugin/pay"
)

// RefundRequest asks for a refund of an order's payment: Amount integer
// TWD (0: all that remains of it), Reason, By (who asks), IdempotencyKey
// (required: a repeated or replayed request with it refunds once), and
// PaymentID: "" for the order's own payment, or a second payment's gateway
// trade number (SideEffect.GatewayTradeNo of a payment.duplicate), whose
// refund never changes the order's status.
type RefundRequest = checkout.RefundRequest

// Refund refunds a payment through its gateway's API, or records a manual
// refund with instructions (a locales message ID) where the gateway has
// none, and returns the refund record. The order moves to
// partially_refunded or refunded only once the gateway (or, for a manual
// refund, MarkRefundDone) confirms it.
//
// Refused, with nothing written (errors.Is): no idempotency key
// (checkout.ErrRefundNoKey), an unpaid order (ErrNotRefundable), an
// unknown payment (ErrPaymentNotFound), more than remains of the payment
// (ErrRefundExceeds), a key used for another request (ErrRefundKeyReused),
// or a gateway that cannot refund now (pay.ErrRefundNotNow: ECPay from
// 20:15 to 20:30 Taiwan time) or so (pay.ErrRefundUnsupported). A request
// whose key is known returns that refund as it stands, with no error.
// After the gateway answered, the record comes back with an error wrapping
// pay.ErrRefundRefused when it refused (state failed), or
// pay.ErrRefundUnknown when its answer never came or failed our checks
// (state requested, manual: the money may have moved, a human finds out).
func (p *Plugin) Refund(ctx context.Context, req RefundRequest) (*checkout.Refund, error) {
	return pay.Refund(metrics.NewContext(ctx, p.metrics), p.store, p.registry, req, p.now())
}

// Refunds lists an order's refunds, oldest first.
func (p *Plugin) Refunds(ctx context.Context, orderNo string) ([]*checkout.Refund, error) {
	return p.store.Refunds(ctx, orderNo)
}

// MarkRefundDone settles a manual refund as done (the money went back),
// by whom; for a refund of the order's own payment the order moves to
// partially_refunded or refunded. An API refund whose call may still run
// is refused (checkout.ErrRefundInFlight), a settled one too
// (ErrRefundSettled).
func (p *Plugin) MarkRefundDone(ctx context.Context, id int64, by string) (*checkout.Refund, error) {
	return p.store.MarkRefund(ctx, id, true, by, "")
}

// MarkRefundFailed settles a manual refund as not done (no money went
// back), by whom and why; what it held of the payment can be refunded
// again.
func (p *Plugin) MarkRefundFailed(ctx context.Context, id int64, by, why string) (*checkout.Refund, error) {
	return p.store.MarkRefund(ctx, id, false, by, why)
}

func (p *Plugin) now() time.Time {
	if p.cfg.Now != nil {
		return p.cfg.Now()
	}
	return time.Now()
}
