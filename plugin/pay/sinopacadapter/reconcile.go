package sinopacadapter

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
)

// paidStatus: ATM 1A400 is paid (sinopac.md §7). Card PayStatus codes are
// unconfirmed; like other integrations we read 1x300 (authorised) and
// 1x400 (captured) as paid.
var paidStatus = regexp.MustCompile(`^1[A-Z](300|400)$`)

// cardGrace lets a card payment started just before the hosted page
// expired finish before we call the attempt expired.
const cardGrace = 10 * time.Minute

func (s *Adapter) QueryAfter() time.Duration { return 2 * time.Minute }

// Query asks OrderQuery about one attempt.
func (s *Adapter) Query(ctx context.Context, a *checkout.Attempt, now time.Time) (pay.QueryResult, error) {
	c, err := s.client(a.MerchantID)
	if err != nil {
		return pay.QueryResult{}, err
	}
	resp, err := c.OrderQuery(ctx, sinopac.OrderQueryRequest{OrderNo: a.MerchantTradeNo})
	if err != nil {
		return pay.QueryResult{}, err
	}
	var info *sinopac.OrderInfo
	for i := range resp.OrderList {
		if resp.OrderList[i].OrderNo == a.MerchantTradeNo {
			info = &resp.OrderList[i]
		}
	}
	r := gateway.Result{MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount}
	switch {
	case info != nil && paidStatus.MatchString(info.PayStatus):
		r.Outcome, r.Amount, r.GatewayTradeNo, r.Code = gateway.Paid, info.Amount, info.TSNo, info.PayStatus
	case deadlinePassed(a, now):
		r.Outcome = gateway.Expired
		if info != nil {
			r.Code = info.PayStatus
		}
	default:
		return pay.QueryResult{}, nil
	}
	body, _ := json.Marshal(map[string]any{"OrderNo": a.MerchantTradeNo, "OrderQuery": info})
	return pay.QueryResult{Result: &r, Body: string(body)}, nil
}

// deadlinePassed: an ATM account is payable through 23:59 of its
// ExpireDate (Taiwan time); a hosted card page until its ExpMinutes ran out.
func deadlinePassed(a *checkout.Attempt, now time.Time) bool {
	if day, _ := a.Info["expire_date"].(string); day != "" {
		d, err := sinopac.ParseDate(day)
		return err == nil && !now.Before(d.AddDate(0, 0, 1))
	}
	if until, _ := a.Info["pay_url_expires_at"].(string); until != "" {
		t, err := time.Parse(time.RFC3339, until)
		return err == nil && now.After(t.Add(cardGrace))
	}
	// The hand-off never finished (no account, no page): nothing can pay it.
	return now.Sub(a.CreatedAt) > time.Hour
}
