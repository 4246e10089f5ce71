package creditcenteradapter

import (
	"context"
	"fmt"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
)

// Refunds (pay.Refunder). The legacy credit center has no refund API
// (creditcenter.md §7: only a legacy capture call is known, and no query
// or refund), so every refund is manual: ECPay's merchant dashboard, or,
// for an account migrated to ECPay's modern API, CreditDetail/DoAction
// with the gwsr (the payment id) as its trade number, which twpay does not
// do for this gateway (UNCONFIRMED that a legacy gwsr is accepted there).

// InstructionsManual says how to refund a credit-center payment (a
// locales message ID).
const InstructionsManual = "refund.manual.creditcenter"

// PlanRefund: always manual.
func (ad *Adapter) PlanRefund(p checkout.Payment, _ int64, _ time.Time) (pay.RefundPlan, error) {
	return pay.RefundPlan{Manual: true, Instructions: InstructionsManual,
		Note: fmt.Sprintf("the credit center (form_Sc_to5) has no refund API: refund gwsr %s by hand", p.PaymentID)}, nil
}

// Refund is never called: every plan is manual.
func (ad *Adapter) Refund(context.Context, checkout.Payment, int64, pay.RefundPlan) (pay.RefundAnswer, error) {
	return pay.RefundAnswer{}, fmt.Errorf("%w: the credit center has no refund API", pay.ErrRefundRefused)
}
