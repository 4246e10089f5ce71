package ecpay

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/twpay/twpay/plugin/gateway"
)

// Kind tells which ECPay callback a body came from; the same RtnCode means
// different things on each.
type Kind string

const (
	Notify      Kind = "notify"       // ReturnURL, server-to-server
	BrowserPost Kind = "result"       // OrderResultURL, through the shopper's browser
	PaymentInfo Kind = "payment-info" // PaymentInfoURL: ATM/CVS/BARCODE code issued
)

// RtnCodes with a meaning (ecpay.md §4.1, §4.4).
const (
	RtnPaid      = "1"
	RtnATMIssued = "2"
	RtnCVSIssued = "10100073"
)

// Ack is the exact body ECPay needs from ReturnURL and PaymentInfoURL.
const Ack = "1|OK"

// ParseForm decodes a callback body (an ordinary form post) into
// single-valued fields. A field sent twice is refused rather than guessed at.
func ParseForm(body []byte) (map[string]string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return single(vals)
}

// ParseReply decodes a QueryTradeInfo/DoAction reply body. ECPay leaves '+'
// literal there (ecpay.md §2.4), so it must not become a space.
func ParseReply(body []byte) (map[string]string, error) {
	vals, err := url.ParseQuery(strings.ReplaceAll(string(body), "+", "%2B"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return single(vals)
}

// EncodeReply writes fields the way ECPay's QueryTradeInfo/DoAction replies
// are written, for servers that answer like ECPay (the local sandbox):
// k=v&... sorted by name, values percent-encoded except letters, digits
// and '+', which ECPay leaves literal (so ParseReply reads it back as '+').
// Names are encoded the same way: ECPay's are letters and digits, and any
// other name must still read back as itself (found by FuzzParseForm: a
// name "a%" came back as a malformed body).
func EncodeReply(fields map[string]string) string {
	var b strings.Builder
	for i, f := range SortedFields(fields) {
		if i > 0 {
			b.WriteByte('&')
		}
		replyEscape(&b, f.Name)
		b.WriteByte('=')
		replyEscape(&b, f.Value)
	}
	return b.String()
}

func replyEscape(b *strings.Builder, s string) {
	const hexDigits = "0123456789ABCDEF"
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '+':
			b.WriteByte(c)
		default:
			b.Write([]byte{'%', hexDigits[c>>4], hexDigits[c&15]})
		}
	}
}

func single(vals url.Values) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) != 1 {
			return nil, fmt.Errorf("%w: %s", ErrDuplicateField, k)
		}
		out[k] = v[0]
	}
	return out, nil
}

// Callback is a verified ECPay callback: all raw fields plus the ones we act on.
type Callback struct {
	Kind   Kind
	Fields map[string]string // every posted field, as received
	Result gateway.Result
	// Simulated is ECPay's SimulatePaid=1: a dashboard simulation, no money moved.
	Simulated bool
}

// VerifyCallback resolves the merchant named in the fields, checks the
// CheckMacValue over every posted field, and normalises the result.
func (ms Merchants) VerifyCallback(kind Kind, fields map[string]string) (Callback, error) {
	m, err := ms.Lookup(fields["MerchantID"])
	if err != nil {
		return Callback{}, err
	}
	if err := m.Verify(fields); err != nil {
		return Callback{}, err
	}
	for _, name := range []string{"MerchantTradeNo", "RtnCode", "TradeAmt"} {
		if fields[name] == "" {
			return Callback{}, fmt.Errorf("%w: %s", ErrMissingField, name)
		}
	}
	amount, err := strconv.ParseInt(fields["TradeAmt"], 10, 64)
	if err != nil || amount <= 0 {
		return Callback{}, fmt.Errorf("%w: TradeAmt %q", ErrBadAmount, fields["TradeAmt"])
	}
	cb := Callback{Kind: kind, Fields: fields, Simulated: fields["SimulatePaid"] == "1"}
	cb.Result = gateway.Result{
		Outcome:         outcome(kind, fields["RtnCode"], cb.Simulated),
		MerchantID:      m.ID,
		MerchantTradeNo: fields["MerchantTradeNo"],
		GatewayTradeNo:  fields["TradeNo"],
		Amount:          amount,
		Code:            fields["RtnCode"],
		Message:         fields["RtnMsg"],
		PaymentType:     fields["PaymentType"],
		Card6:           fields["card6no"],
		Card4:           fields["card4no"],
	}
	if cb.Result.Outcome == gateway.CodesIssued {
		// A code-issued post without its code is malformed, not news.
		in, err := ParseInstructions(fields)
		if err != nil {
			return Callback{}, err
		}
		cb.Result.BankCode, cb.Result.VirtualAccount = in.BankCode, in.VAccount
		cb.Result.PaymentNo, cb.Result.Barcodes, cb.Result.PayUntil = in.PaymentNo, in.Barcodes, in.Deadline
	}
	return cb, nil
}

// outcome maps RtnCode. A simulated payment is authentic but moves no
// money, so it must never mark an order paid (ecpay.md §4.1). The codes
// mean the same whichever URL they reach: a code-issued post that arrives
// at ReturnURL (ECPay's fallback without PaymentInfoURL is UNCONFIRMED,
// §4.4) issues codes there too instead of failing the attempt.
func outcome(_ Kind, rtnCode string, simulated bool) gateway.Outcome {
	switch {
	case simulated:
		return gateway.Ignored
	case rtnCode == RtnPaid:
		return gateway.Paid
	case rtnCode == RtnATMIssued || rtnCode == RtnCVSIssued:
		return gateway.CodesIssued
	}
	return gateway.Failed
}
