package sinopacadapter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
)

// Refunds through SinoPac (pay.Refunder). A card payment is refunded with
// OrderMaintain (sinopac.md §7), which the bank documents only in its .NET
// models: the service, its fields, its answer and which command works when
// are all UNCONFIRMED. twpay sends C (cancel the authorisation) for a full
// refund before capture and R (refund Amount) otherwise. A card order is
// captured at authorisation with AutoBilling=Y (the default), and
// ExpBillingDays after it with AutoBilling=N (the bank's exact capture
// time is UNCONFIRMED); the order's own setting is in the attempt's info
// (auto_billing, exp_billing_days), else the adapter's. If the bank had
// captured already, it refuses C and the refund is recorded failed (no
// money moved): refund again, and twpay sends R once the capture date is
// past. ATM (virtual account) payments have no refund API: manual.
//
// OrderMaintain's answer is signed like every other service: Status S is
// success, Status F the bank's refusal (recorded failed); no answer, or
// one that fails verification, leaves the refund requested for a human,
// since the money may have moved.

// Instructions of manual SinoPac refunds (locales message IDs).
const InstructionsATM = "refund.manual.sinopac_atm"

// Attempt info keys: the card order's capture settings (Start).
const (
	infoAutoBilling    = "auto_billing"
	infoExpBillingDays = "exp_billing_days"
)

// refundRemark goes with every OrderMaintain (no ' " %: sinopac.md §4).
const refundRemark = "twpay refund"

// captured judges whether card payment p is captured at now.
func (s *Adapter) captured(p checkout.Payment, now time.Time) (bool, string) {
	auto, days := "Y", s.cfg.ExpBillingDays
	if !*s.cfg.AutoBilling {
		auto = "N"
	}
	if v, ok := p.Info[infoAutoBilling].(string); ok && (v == "Y" || v == "N") {
		auto = v
	}
	if v, ok := p.Info[infoExpBillingDays].(float64); ok && v > 0 { // JSON numbers
		days = int(v)
	}
	if auto == "Y" {
		return true, "AutoBilling=Y: captured at authorisation"
	}
	due := p.PaidAt.AddDate(0, 0, days)
	if now.Before(due) {
		return false, fmt.Sprintf("AutoBilling=N: capture due %s Taiwan time (%d days after authorisation)", due.In(sinopac.Taipei).Format("2006-01-02 15:04"), days)
	}
	return true, fmt.Sprintf("AutoBilling=N: captured since %s Taiwan time (%d days after authorisation)", due.In(sinopac.Taipei).Format("2006-01-02 15:04"), days)
}

// PlanRefund decides how amount of p is refunded (see the top of this
// file). It calls nothing.
func (s *Adapter) PlanRefund(p checkout.Payment, amount int64, now time.Time) (pay.RefundPlan, error) {
	if p.Method == "atm" || p.PaymentType == sinopac.PayTypeATM {
		return pay.RefundPlan{Manual: true, Instructions: InstructionsATM,
			Note: "SinoPac has no refund API for virtual account (ATM) payments: transfer the money back by hand"}, nil
	}
	if _, err := s.client(p.MerchantID); err != nil {
		return pay.RefundPlan{}, fmt.Errorf("%w: %w", pay.ErrRefundUnsupported, err)
	}
	captured, note := s.captured(p, now)
	full := amount == p.Amount && p.Refunded == 0
	if !captured && full {
		return pay.RefundPlan{Actions: []string{sinopac.CommandCancel}, Note: note + ": cancel the authorisation (C)"}, nil
	}
	return pay.RefundPlan{Actions: []string{sinopac.CommandRefund}, Note: note + ": refund (R)"}, nil
}

// Refund sends the plan's OrderMaintain command.
func (s *Adapter) Refund(ctx context.Context, p checkout.Payment, amount int64, plan pay.RefundPlan) (pay.RefundAnswer, error) {
	var ans pay.RefundAnswer
	if len(plan.Actions) != 1 {
		return ans, fmt.Errorf("%w: SinoPac refunds take one command, planned %v", pay.ErrRefundRefused, plan.Actions)
	}
	c, err := s.client(p.MerchantID)
	if err != nil {
		return ans, fmt.Errorf("%w: %w", pay.ErrRefundRefused, err)
	}
	req := sinopac.OrderMaintainRequest{ShopNo: p.MerchantID, OrderNo: p.MerchantTradeNo, Command: plan.Actions[0], Remark: refundRemark}
	if req.Command == sinopac.CommandRefund {
		req.Amount = amount // explicit, never "omitted = all"
	}
	body, _ := sinopac.Marshal(req)
	ans.Exchanges = append(ans.Exchanges, pay.Exchange{Kind: "order_maintain.request", Body: string(body)})
	resp, err := c.OrderMaintain(ctx, req)
	if len(resp.Plain) > 0 {
		ans.Answer = string(resp.Plain)
		ans.Exchanges = append(ans.Exchanges, pay.Exchange{Kind: "order_maintain.reply", Body: ans.Answer})
	}
	var apiErr *sinopac.APIError
	switch {
	case err == nil && req.Command == sinopac.CommandRefund && resp.AmountRaw != "" && resp.Amount != amount:
		err = fmt.Errorf("%w: OrderMaintain R answered %d TWD, asked %d", sinopac.ErrMismatch, resp.Amount, amount)
	case err == nil:
		return ans, nil
	}
	ans.Exchanges = append(ans.Exchanges, pay.Exchange{Kind: "order_maintain.error", Body: err.Error()})
	switch {
	case errors.As(err, &apiErr):
		return ans, fmt.Errorf("%w: %w", pay.ErrRefundRefused, err)
	case errors.Is(err, sinopac.ErrInvalidRequest), errors.Is(err, sinopac.ErrConfig):
		return ans, fmt.Errorf("%w: not sent: %w", pay.ErrRefundRefused, err)
	}
	return ans, fmt.Errorf("%w: %w", pay.ErrRefundUnknown, err)
}

// startInfo is what Start keeps on a card attempt for refunds: how the
// order is captured.
func startInfo(card sinopac.CardParam) map[string]any {
	info := map[string]any{infoAutoBilling: strings.TrimSpace(card.AutoBilling)}
	if card.ExpBillingDays > 0 {
		info[infoExpBillingDays] = card.ExpBillingDays
	}
	return info
}
