package creditcenteradapter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/pay"
)

// queryAfter: the legacy page has no query by trade number (creditcenter.md
// §7), so reconciliation has two things to do: re-check a browser post
// whose re-check could not be made, and expire an attempt nobody paid.
const queryAfter = 5 * time.Minute

func (ad *Adapter) QueryAfter() time.Duration { return queryAfter }

// Query: an attempt holding a browser post's fields not yet re-checked is
// re-checked (valid=1 pays it; the gateway's "no" goes to review, since
// spcheck matched); otherwise an unpaid attempt older than ExpireAfter
// expires (a deadline that is ours: the page tells nobody), and anything
// else is no news. A payment that lands after the expiry is still applied.
func (ad *Adapter) Query(ctx context.Context, a *checkout.Attempt, now time.Time) (pay.QueryResult, error) {
	if cb := pendingClaim(a); cb != nil {
		err := creditcenter.Recheck(ctx, ad.cfg.HTTPClient, ad.cfg.RecheckURL, creditcenter.RecheckOf(cb))
		switch {
		case errors.Is(err, creditcenter.ErrNotValid):
			return pay.QueryResult{Review: fmt.Sprintf("a browser post for gwsr %s matched spcheck, but g_recheck says: %v", cb.Gwsr, err)}, nil
		case err != nil:
			return pay.QueryResult{}, err
		}
		r := gateway.Result{Outcome: gateway.Paid, MerchantID: a.MerchantID, MerchantTradeNo: cb.OrderNo,
			GatewayTradeNo: cb.Gwsr, Amount: cb.Amount, Code: cb.ResponseCode, PaymentType: PaymentType,
			Card6: cb.Card6, Card4: cb.Card4}
		return pay.QueryResult{Result: &r, Info: map[string]any{InfoRecheck: RecheckValid},
			Body: fmt.Sprintf("g_recheck valid=1 for gwsr %s, serial %s, amount %d", cb.Gwsr, cb.Serial(), cb.Amount)}, nil
	}
	switch {
	case a.Status == checkout.Expired:
		return pay.QueryResult{}, nil // settling: only a payment changes it now
	case a.Status == checkout.Pending && now.Sub(a.CreatedAt) > ad.cfg.ExpireAfter:
		r := gateway.Result{Outcome: gateway.Expired, MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo,
			Amount: a.Amount, Code: "abandoned"}
		return pay.QueryResult{Result: &r, Body: fmt.Sprintf("no result within %s of the hand-off", ad.cfg.ExpireAfter)}, nil
	}
	return pay.QueryResult{}, nil
}

// pendingClaim rebuilds the browser post kept on a (unpaid) attempt whose
// re-check could not be made, or nil.
func pendingClaim(a *checkout.Attempt) *creditcenter.Callback {
	if a.Status == checkout.Paid || a.Info[InfoRecheck] != RecheckPending {
		return nil
	}
	f, _ := a.Info[InfoKey].(map[string]any)
	if f == nil || f["succ"] != true {
		return nil
	}
	str := func(k string) string { s, _ := f[k].(string); return s }
	num := func(k string) int64 {
		switch v := f[k].(type) {
		case float64:
			return int64(v)
		case string:
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
		return 0
	}
	cb := &creditcenter.Callback{Client: str("client"), Succ: true, Gwsr: str("gwsr"), ResponseCode: str("response_code"),
		ProcessDate: str("process_date"), ProcessTime: str("process_time"), OrderNo: str("od_sob"),
		Amount: num("amount"), RechKey: str("rech_key"), Card6: str("card6no"), Card4: str("card4no")}
	if cb.OrderNo != a.MerchantTradeNo || cb.RechKey == "" || cb.Gwsr == "" {
		return nil
	}
	return cb
}
