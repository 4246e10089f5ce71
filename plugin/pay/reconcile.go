package pay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// Report counts what one reconciliation run did.
type Report struct {
	Checked, Paid, Failed, Expired int
}

func (r *Report) add(o checkout.Outcome, g gateway.Outcome) {
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

// Reconciler asks a gateway about attempts still waiting for money: it
// recovers payments whose callbacks never arrived (SinoPac stops after 5
// BackendURL tries, ECPay after 5 notifies) and expires attempts that can
// no longer be paid. Runs on several instances at once are safe: every
// result goes through the same idempotent Apply.
type Reconciler interface {
	Reconcile(ctx context.Context, now time.Time) (Report, error)
}

// Timing of reconciliation, shared by the gateways.
const (
	reconcileBatch = 100              // attempts per run
	requeryEvery   = 10 * time.Minute // leave an attempt alone this long after asking
)

// due reports whether a was not asked about recently.
func due(a *checkout.Attempt, now time.Time) bool {
	return now.Sub(a.LastQueried()) >= requeryEvery
}

// sinopacPaidStatus: ATM 1A400 is paid (sinopac.md §7). Card PayStatus codes
// are unconfirmed; like other integrations we read 1x300 (authorised) and
// 1x400 (captured) as paid.
var sinopacPaidStatus = regexp.MustCompile(`^1[A-Z](300|400)$`)

// sinopacCardGrace lets a card payment started just before the hosted page
// expired finish before we call the attempt expired.
const sinopacCardGrace = 10 * time.Minute

// Reconcile asks OrderQuery about SinoPac attempts older than two minutes.
func (s *SinoPac) Reconcile(ctx context.Context, now time.Time) (Report, error) {
	var rep Report
	attempts, err := s.store.Unsettled(ctx, gatewaySinoPac, now.Add(-2*time.Minute), reconcileBatch)
	if err != nil {
		return rep, err
	}
	for _, a := range attempts {
		if !due(a, now) {
			continue
		}
		rep.Checked++
		resp, err := s.cfg.Client.OrderQuery(ctx, sinopac.OrderQueryRequest{OrderNo: a.MerchantTradeNo})
		if err != nil {
			return rep, fmt.Errorf("sinopac OrderQuery %s: %w", a.MerchantTradeNo, err)
		}
		var info *sinopac.OrderInfo
		for i := range resp.OrderList {
			if resp.OrderList[i].OrderNo == a.MerchantTradeNo {
				info = &resp.OrderList[i]
			}
		}
		r := gateway.Result{MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount}
		switch {
		case info != nil && sinopacPaidStatus.MatchString(info.PayStatus):
			r.Outcome, r.Amount, r.GatewayTradeNo, r.Code = gateway.Paid, info.Amount, info.TSNo, info.PayStatus
		case sinopacDeadlinePassed(a, now):
			r.Outcome = gateway.Expired
			if info != nil {
				r.Code = info.PayStatus
			}
		default:
			if err := s.store.MarkQueried(ctx, a.ID, now); err != nil {
				return rep, err
			}
			continue
		}
		body, _ := json.Marshal(map[string]any{"OrderNo": a.MerchantTradeNo, "OrderQuery": info})
		out, err := s.store.Apply(ctx, checkout.Inbound{Gateway: gatewaySinoPac, Kind: "reconcile", Body: string(body), Result: r})
		if err != nil && !isMismatch(err) { // a mismatch is recorded as rejected; go on
			return rep, err
		}
		rep.add(out, r.Outcome)
	}
	return rep, nil
}

// sinopacDeadlinePassed: an ATM account is payable through 23:59 of its
// ExpireDate (Taiwan time); a hosted card page until its ExpMinutes ran out.
func sinopacDeadlinePassed(a *checkout.Attempt, now time.Time) bool {
	if day, _ := a.Info["expire_date"].(string); day != "" {
		d, err := sinopac.ParseDate(day)
		return err == nil && !now.Before(d.AddDate(0, 0, 1))
	}
	if until, _ := a.Info["pay_url_expires_at"].(string); until != "" {
		t, err := time.Parse(time.RFC3339, until)
		return err == nil && now.After(t.Add(sinopacCardGrace))
	}
	// The hand-off never finished (no account, no page): nothing can pay it.
	return now.Sub(a.CreatedAt) > time.Hour
}

// ECPay reconciliation timing: ECPay advises querying a card trade 10
// minutes after payment and answers 403 to fast polling, wanting 30
// minutes of quiet (ecpay.md §5). A checkout nobody paid within an hour is
// abandoned: the shopper gets the retry panel instead of a spinner.
const (
	ecpayQueryAfter  = 15 * time.Minute
	ecpayAbandonAt   = time.Hour
	ecpayBackOff     = 30 * time.Minute
	ecpayNeverChosen = "10200095" // TradeStatus: the shopper never chose a payment method
)

// Reconcile asks QueryTradeInfo about ECPay attempts still pending.
func (e *ECPay) Reconcile(ctx context.Context, now time.Time) (Report, error) {
	var rep Report
	if now.Before(e.pausedUntil.Load().(time.Time)) {
		return rep, nil
	}
	attempts, err := e.store.Unsettled(ctx, gatewayECPay, now.Add(-ecpayQueryAfter), reconcileBatch)
	if err != nil {
		return rep, err
	}
	for _, a := range attempts {
		if !due(a, now) {
			continue
		}
		m, err := e.merchants.Lookup(a.MerchantID)
		if err != nil {
			return rep, err
		}
		rep.Checked++
		abandoned := now.Sub(a.CreatedAt) > ecpayAbandonAt
		r := gateway.Result{MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount}
		// TimeStamp is the real clock (ECPay allows 3 minutes of skew);
		// now only decides what the answer means.
		ti, err := m.QueryTradeInfo(ctx, e.cfg.HTTPClient, e.cfg.QueryURL, a.MerchantTradeNo, time.Now())
		var body []byte
		switch {
		case errors.Is(err, ecpay.ErrRateLimited):
			e.pausedUntil.Store(now.Add(ecpayBackOff))
			return rep, fmt.Errorf("ecpay QueryTradeInfo: %w (pausing %s)", err, ecpayBackOff)
		case errors.Is(err, ecpay.ErrQueryFailed) && abandoned:
			// ECPay does not know the trade: the shopper never reached its page.
			r.Outcome, r.Code = gateway.Expired, "unknown"
			body, _ = json.Marshal(map[string]string{"MerchantTradeNo": a.MerchantTradeNo, "QueryTradeInfo": err.Error()})
		case err != nil && !errors.Is(err, ecpay.ErrQueryFailed):
			return rep, fmt.Errorf("ecpay QueryTradeInfo %s: %w", a.MerchantTradeNo, err)
		case err == nil && ti.Paid():
			r.Outcome, r.Amount, r.GatewayTradeNo, r.Code, r.PaymentType = gateway.Paid, ti.TradeAmt, ti.TradeNo, ti.TradeStatus, ti.PaymentType
		case err == nil && ti.TradeStatus == ecpayNeverChosen:
			r.Outcome, r.Code = gateway.Failed, ti.TradeStatus
		case err == nil && abandoned:
			r.Outcome, r.Code = gateway.Expired, ti.TradeStatus
		}
		if r.Outcome == "" {
			if err := e.store.MarkQueried(ctx, a.ID, now); err != nil {
				return rep, err
			}
			continue
		}
		if body == nil {
			body, _ = json.Marshal(ti.Fields)
		}
		out, err := e.store.Apply(ctx, checkout.Inbound{Gateway: gatewayECPay, Kind: "reconcile", Body: string(body), Result: r})
		if err != nil && !isMismatch(err) {
			return rep, err
		}
		rep.add(out, r.Outcome)
	}
	return rep, nil
}
