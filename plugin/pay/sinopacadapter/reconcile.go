package sinopacadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
)

// OrderQuery PayStatus codes (sinopac.md §7): only the ATM codes are
// confirmed. Card codes are not: a card order that looks paid there is
// confirmed through OrderPayQuery with its PayToken, or goes to review.
const (
	statusATMAwaiting = "1A200"
	statusATMPaid     = "1A400"
)

// cardLooksPaid: 1x300 (authorised) and 1x400 (captured) read as paid in
// other integrations (unconfirmed).
var cardLooksPaid = regexp.MustCompile(`^1[A-Z](300|400)$`)

const (
	queryAfter = 2 * time.Minute
	// cardGrace lets a card payment started just before the hosted page
	// expired finish before we call the attempt expired.
	cardGrace = 10 * time.Minute
	// noHandOff: an attempt the bank never confirmed creating is judged
	// after this long.
	noHandOff = time.Hour
)

func (s *Adapter) QueryAfter() time.Duration { return queryAfter }

// Query asks OrderQuery about one attempt (now is the database's clock).
// Paid only on what the spec confirms: ATM 1A400 without a refund flag, or
// a card payment OrderPayQuery confirms. Anything else that looks like
// money goes to review; an attempt past its deadline expires.
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
	body, _ := json.Marshal(map[string]any{"OrderNo": a.MerchantTradeNo, "OrderQuery": info})
	r := gateway.Result{MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount}
	if info != nil {
		r.GatewayTradeNo, r.Code = info.TSNo, info.PayStatus
	}
	looksPaid := info != nil && (info.PayStatus == statusATMPaid || cardLooksPaid.MatchString(info.PayStatus))
	switch {
	case info != nil && info.RefundFlag == "Y":
		return pay.QueryResult{Review: fmt.Sprintf("OrderQuery: RefundFlag=Y (PayStatus %s, RefundStatus %q)", info.PayStatus, info.RefundStatus)}, nil
	case looksPaid && isATM(a) && info.PayStatus == statusATMPaid:
		r.Outcome, r.Amount = gateway.Paid, info.Amount
		return pay.QueryResult{Result: &r, Body: string(body)}, nil
	case looksPaid:
		return s.confirmCard(ctx, a, info)
	case info != nil && isATM(a) && info.PayStatus != statusATMAwaiting && info.PayStatus != "":
		return pay.QueryResult{Review: fmt.Sprintf("OrderQuery: ATM PayStatus %q is not one twpay knows", info.PayStatus)}, nil
	case a.StartState == checkout.StartUnknown && a.Status == checkout.Pending && isATM(a) && info != nil &&
		info.PayStatus == statusATMAwaiting && info.ATMParam != nil && info.ATMParam.AtmPayNo != "" && len(info.ExpireDate) >= 8:
		// OrderCreate's answer was lost, but the bank made the account: the
		// shopper gets it after all.
		deadline, err := atmDeadline(info.ExpireDate[:8])
		if err != nil {
			return pay.QueryResult{}, err
		}
		r.Outcome, r.BankCode, r.VirtualAccount, r.PayUntil = gateway.CodesIssued, bankCode, info.ATMParam.AtmPayNo, deadline
		return pay.QueryResult{Result: &r, Body: string(body), Info: map[string]any{"expire_date": info.ExpireDate[:8], "ts_no": info.TSNo}}, nil
	case a.Status == checkout.Expired:
		return pay.QueryResult{}, nil // settling: only a payment changes it now
	case deadlinePassed(a, now):
		r.Outcome = gateway.Expired
		if info == nil && a.StartState == checkout.StartUnknown {
			r.Code = "never_created" // the bank's signed list does not have it
		}
		return pay.QueryResult{Result: &r, Body: string(body)}, nil
	}
	return pay.QueryResult{}, nil
}

// confirmCard: a card order OrderQuery shows as paid (with an unconfirmed
// code) is paid only when OrderPayQuery confirms it for a PayToken we
// received; without a token a human looks.
func (s *Adapter) confirmCard(ctx context.Context, a *checkout.Attempt, info *sinopac.OrderInfo) (pay.QueryResult, error) {
	token, _ := a.Info["pay_token"].(string)
	if token == "" {
		return pay.QueryResult{Review: fmt.Sprintf("OrderQuery: PayStatus %s looks paid (unconfirmed code) and no PayToken arrived to confirm it", info.PayStatus)}, nil
	}
	v, err := s.confirm(ctx, a.MerchantID, token)
	if err != nil {
		return pay.QueryResult{}, err
	}
	if v.Result.Outcome != gateway.Paid || v.Result.MerchantTradeNo != a.MerchantTradeNo {
		return pay.QueryResult{Review: fmt.Sprintf("OrderQuery: PayStatus %s looks paid, OrderPayQuery says %s", info.PayStatus, v.Result.Outcome)}, nil
	}
	body, _ := json.Marshal(map[string]any{"OrderNo": a.MerchantTradeNo, "OrderQuery": info, "OrderPayQuery": v.Result})
	return pay.QueryResult{Result: &v.Result, Info: v.Info, Body: string(body)}, nil
}

// deadlinePassed judges the deadlines that are ours: the virtual
// account's (through 23:59 of its ExpireDate) and the hosted card page's
// (with a grace period); an attempt the bank never confirmed creating,
// after an hour.
func deadlinePassed(a *checkout.Attempt, now time.Time) bool {
	switch {
	case a.PayUntil != nil && isATM(a):
		return !now.Before(*a.PayUntil)
	case a.PayUntil != nil:
		return now.After(a.PayUntil.Add(cardGrace))
	}
	return now.Sub(a.CreatedAt) > noHandOff
}

func isATM(a *checkout.Attempt) bool { return a.Method == "atm" }
