package ecpay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twpay/twpay/plugin/gateway"
)

// Stage and production QueryTradeInfo V5 endpoints (ecpay.md §1.1, §5).
const (
	StageQueryURL      = "https://payment-stage.ecpay.com.tw/Cashier/QueryTradeInfo/V5"
	ProductionQueryURL = "https://payment.ecpay.com.tw/Cashier/QueryTradeInfo/V5"
)

// TradeStatus values (ecpay.md §5).
const (
	TradeStatusUnpaid   = "0"        // created, not (yet) paid
	TradeStatusPaid     = "1"        // paid
	TradeStatusNoMethod = "10200095" // the consumer never chose a payment method: failed
)

// maxReplyBody caps a QueryTradeInfo reply; a real one is well under 1 KiB.
const maxReplyBody = 64 << 10

// maxRtnMsg caps how much of an unauthenticated RtnMsg goes into an error.
const maxRtnMsg = 200

// defaultQueryClient is used when QueryTradeInfo is given a nil client.
var defaultQueryClient = gateway.Client(15 * time.Second)

// TradeInfo is a verified QueryTradeInfo V5 reply.
type TradeInfo struct {
	Fields map[string]string // every field of the reply, as received

	MerchantTradeNo string
	TradeNo         string // ECPay's trade number
	TradeStatus     string // TradeStatusUnpaid, TradeStatusPaid, TradeStatusNoMethod, ...
	PaymentType     string
	PaymentDate     string // yyyy/MM/dd HH:mm:ss Taiwan time (ParseDate); empty when unpaid
	TradeDate       string // yyyy/MM/dd HH:mm:ss Taiwan time (ParseDate)
	TradeAmt        int64  // integer TWD
}

// Paid reports whether ECPay says the trade is paid (TradeStatus "1").
func (t TradeInfo) Paid() bool { return t.TradeStatus == TradeStatusPaid }

// QueryTradeInfo asks ECPay (QueryTradeInfo V5, ecpay.md §5) for the state
// of one trade. queryURL is StageQueryURL, ProductionQueryURL or a
// stand-in's; hc nil means a client with a 15 s timeout. now supplies the
// request's TimeStamp (Unix seconds, which ECPay accepts for 3 minutes; zero
// means time.Now).
//
// The reply is parsed with ParseReply ('+' stays literal, ecpay.md §2.4)
// and its CheckMacValue verified over every returned field; it must be for
// merchantTradeNo and carry a positive integer TradeAmt. Errors:
//   - ErrHTTPStatus: a status other than 200. ECPay answers 403 when queried
//     too fast; back off 30 minutes before asking again (ecpay.md §5, §7).
//   - ErrQueryFailed: an error reply (RtnCode/RtnMsg, no CheckMacValue), e.g.
//     an unknown trade. Its message carries RtnMsg. ECPay's error-reply format
//     is UNCONFIRMED: this follows the sandbox's "RtnCode=0&RtnMsg=...".
//   - ErrMissingMAC, ErrBadMAC: unsigned or forged reply.
//   - ErrMismatch: a reply for another MerchantTradeNo (or MerchantID).
//   - ErrMissingField (no TradeStatus), ErrBadAmount, ErrMalformed.
//
// Query only when needed: for Credit/TWQR without a notification, about 10
// minutes after payment; for ATM/CVS/BARCODE/BNPL wait for the notification.
// Error messages never contain the merchant's HashKey or HashIV.
func (m Merchant) QueryTradeInfo(ctx context.Context, hc *http.Client, queryURL, merchantTradeNo string, now time.Time) (TradeInfo, error) {
	if !ValidTradeNo(merchantTradeNo) {
		return TradeInfo{}, fmt.Errorf("ecpay: MerchantTradeNo %q: up to 20 letters and digits", merchantTradeNo)
	}
	if m.ID == "" || m.HashKey.IsZero() || m.HashIV.IsZero() {
		return TradeInfo{}, fmt.Errorf("ecpay: merchant %q has incomplete credentials", m.ID)
	}
	if hc == nil {
		hc = defaultQueryClient
	}
	if now.IsZero() {
		now = time.Now()
	}
	req := map[string]string{
		"MerchantID":      m.ID,
		"MerchantTradeNo": merchantTradeNo,
		"TimeStamp":       strconv.FormatInt(now.Unix(), 10),
	}
	req[MACField] = m.Sign(req)
	form := url.Values{}
	for k, v := range req {
		form.Set(k, v)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, queryURL, strings.NewReader(form.Encode()))
	if err != nil {
		return TradeInfo{}, fmt.Errorf("ecpay: QueryTradeInfo: %w", err)
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := gateway.Do(hc, hr, "ecpay", "QueryTradeInfo")
	if err != nil {
		return TradeInfo{}, fmt.Errorf("ecpay: QueryTradeInfo %s: %w", merchantTradeNo, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody+1))
	if err != nil {
		return TradeInfo{}, fmt.Errorf("ecpay: QueryTradeInfo %s: reading reply: %w", merchantTradeNo, err)
	}

	if resp.StatusCode != http.StatusOK {
		detail := ""
		if resp.StatusCode == http.StatusForbidden {
			detail = " (queried too fast? ECPay asks for a 30-minute back-off)"
		}
		if len(body) <= maxReplyBody {
			if f, err := ParseReply(body); err == nil && f["RtnMsg"] != "" {
				detail += ": RtnMsg " + quoteMsg(f["RtnMsg"])
			}
		}
		err := fmt.Errorf("%w: QueryTradeInfo %s: HTTP %d%s", ErrHTTPStatus, merchantTradeNo, resp.StatusCode, detail)
		if resp.StatusCode == http.StatusForbidden {
			err = fmt.Errorf("%w: %w", ErrRateLimited, err)
		}
		return TradeInfo{}, err
	}
	if len(body) > maxReplyBody {
		return TradeInfo{}, fmt.Errorf("%w: QueryTradeInfo reply larger than %d bytes", ErrMalformed, maxReplyBody)
	}
	// A trailing line break is transport noise, not part of the last value
	// (ECPay forbids CR/LF in values).
	fields, err := ParseReply(bytes.TrimRight(body, "\r\n"))
	if err != nil {
		return TradeInfo{}, fmt.Errorf("ecpay: QueryTradeInfo %s: %w", merchantTradeNo, err)
	}
	return m.tradeInfo(merchantTradeNo, fields)
}

// tradeInfo checks a parsed reply and extracts its fields.
func (m Merchant) tradeInfo(merchantTradeNo string, f map[string]string) (TradeInfo, error) {
	_, rtnCode := f["RtnCode"]
	_, rtnMsg := f["RtnMsg"]
	if f[MACField] == "" && (rtnCode || rtnMsg) {
		return TradeInfo{}, queryFailed(merchantTradeNo, f)
	}
	if err := m.Verify(f); err != nil {
		return TradeInfo{}, fmt.Errorf("ecpay: QueryTradeInfo %s reply: %w", merchantTradeNo, err)
	}
	if f["TradeStatus"] == "" && (rtnCode || rtnMsg) {
		return TradeInfo{}, queryFailed(merchantTradeNo, f) // a signed error reply
	}
	if got := f["MerchantTradeNo"]; got != merchantTradeNo {
		return TradeInfo{}, fmt.Errorf("%w: asked for MerchantTradeNo %s, reply is for %q", ErrMismatch, merchantTradeNo, got)
	}
	if got, ok := f["MerchantID"]; ok && got != m.ID {
		return TradeInfo{}, fmt.Errorf("%w: asked as MerchantID %s, reply is for %q", ErrMismatch, m.ID, got)
	}
	if f["TradeStatus"] == "" {
		return TradeInfo{}, fmt.Errorf("%w: TradeStatus in QueryTradeInfo %s reply", ErrMissingField, merchantTradeNo)
	}
	amount, err := strconv.ParseInt(f["TradeAmt"], 10, 64)
	if err != nil || amount <= 0 {
		return TradeInfo{}, fmt.Errorf("%w: TradeAmt %q in QueryTradeInfo %s reply", ErrBadAmount, f["TradeAmt"], merchantTradeNo)
	}
	return TradeInfo{
		Fields:          f,
		MerchantTradeNo: f["MerchantTradeNo"],
		TradeNo:         f["TradeNo"],
		TradeStatus:     f["TradeStatus"],
		PaymentType:     f["PaymentType"],
		PaymentDate:     f["PaymentDate"],
		TradeDate:       f["TradeDate"],
		TradeAmt:        amount,
	}, nil
}

func queryFailed(merchantTradeNo string, f map[string]string) error {
	return fmt.Errorf("%w: %s: RtnCode %q, RtnMsg %s", ErrQueryFailed, merchantTradeNo, f["RtnCode"], quoteMsg(f["RtnMsg"]))
}

// quoteMsg quotes an unauthenticated server message for an error, cut to
// maxRtnMsg runes.
func quoteMsg(s string) string {
	if r := []rune(s); len(r) > maxRtnMsg {
		s = string(r[:maxRtnMsg]) + "..."
	}
	return strconv.Quote(s)
}
