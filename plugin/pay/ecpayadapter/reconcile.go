package ecpayadapter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
)

// Reconciliation timing: ECPay advises querying a card trade 10 minutes
// after payment and answers 403 to fast polling, wanting 30 minutes of
// quiet (ecpay.md §5). A checkout nobody paid within an hour is abandoned:
// the shopper gets the retry panel instead of a spinner.
const (
	queryAfter = 15 * time.Minute
	abandonAt  = time.Hour
	backOff    = 30 * time.Minute
)

func (e *Adapter) QueryAfter() time.Duration { return queryAfter }

// Query asks QueryTradeInfo about one attempt. Only a signed answer can
// pay, fail or expire it: an unsigned error reply (clock skew, an IP
// setting, a proxy page) is a failed question, asked again later.
func (e *Adapter) Query(ctx context.Context, a *checkout.Attempt, now time.Time) (pay.QueryResult, error) {
	m, err := e.merchants.Lookup(a.MerchantID)
	if err != nil {
		return pay.QueryResult{}, err
	}
	// TimeStamp is the real clock (ECPay allows 3 minutes of skew); now
	// (the database's) only decides what the answer means.
	ti, err := m.QueryTradeInfo(ctx, e.cfg.HTTPClient, e.cfg.QueryURL, a.MerchantTradeNo, time.Now())
	if errors.Is(err, ecpay.ErrRateLimited) {
		return pay.QueryResult{}, &pay.PauseError{For: backOff, Err: err}
	}
	if err != nil {
		return pay.QueryResult{}, err
	}
	r := resultFor(a)
	switch {
	case ti.Paid():
		r.Outcome, r.Amount, r.GatewayTradeNo, r.Code, r.PaymentType = gateway.Paid, ti.TradeAmt, ti.TradeNo, ti.TradeStatus, ti.PaymentType
	case a.Status == checkout.Expired:
		return pay.QueryResult{}, nil // settling: only a payment changes it now
	case ti.TradeStatus == ecpay.TradeStatusNoMethod:
		r.Outcome, r.Code = gateway.Failed, ti.TradeStatus
	case ti.TradeStatus == ecpay.TradeStatusUnpaid && !now.Before(e.expiresAt(a)):
		r.Outcome, r.Code = gateway.Expired, ti.TradeStatus
	case ti.TradeStatus == ecpay.TradeStatusUnpaid:
		return pay.QueryResult{Next: e.requeryUnpaid(a, now)}, nil
	default:
		return pay.QueryResult{Review: fmt.Sprintf("QueryTradeInfo TradeStatus %q is not one twpay knows", ti.TradeStatus)}, nil
	}
	return pay.QueryResult{Result: &r, Body: jsonBody(ti.Fields)}, nil
}

// expiresAt is when an attempt ECPay still reports unpaid (TradeStatus 0)
// is ours to call expired. ECPay sends no word when a code lapses
// (ecpay.md §4.4), so the deadline is judged here: a card-like checkout an
// hour after the hand-off; an issued code after its deadline plus the
// time ECPay may take to report a payment made in time; a code method
// whose code never reached us (PaymentInfoURL lost) after the longest
// such code could live.
func (e *Adapter) expiresAt(a *checkout.Attempt) time.Time {
	k, ok := kindNamed(a.Method)
	switch {
	case !ok || !k.codes:
		return a.CreatedAt.Add(abandonAt)
	case a.PayUntil != nil:
		return a.PayUntil.Add(k.lag)
	}
	return a.CreatedAt.Add(abandonAt + e.lifetime(k) + k.lag)
}

// codeRequery is how often an issued, still unpaid code is asked about:
// ECPay says to wait for its notify for ATM/CVS/BARCODE and answers fast
// polling with HTTP 403 (ecpay.md §5), so a code is asked a few times a
// day and then at its expiry, not every RequeryEvery for weeks; a lost
// notify is still healed within this long.
const codeRequery = 6 * time.Hour

// requeryUnpaid says when to ask again about an attempt ECPay reports
// unpaid: 0 (the default interval) for a card-like checkout; for a code,
// codeRequery or its expiry, whichever comes first.
func (e *Adapter) requeryUnpaid(a *checkout.Attempt, now time.Time) time.Duration {
	if k, ok := kindNamed(a.Method); !ok || !k.codes {
		return 0
	}
	return min(codeRequery, max(e.expiresAt(a).Sub(now), 0))
}

// lifetime is how long a code of kind k stays payable, as we ask ECPay.
func (e *Adapter) lifetime(k kind) time.Duration {
	const day = 24 * time.Hour
	switch k.name {
	case "atm":
		return time.Duration(e.cfg.ATMExpireDays+1) * day // through 23:59 of the last day
	case "cvs":
		return time.Duration(e.cfg.CVSExpireMinutes) * time.Minute
	case "barcode":
		return time.Duration(e.cfg.BarcodeExpireDays+1) * day
	}
	return 0
}
