package ecpay

import (
	"bytes"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/fuzzcheck"
)

// Fuzz targets for what ECPay sends us: callback forms, CheckMacValue,
// and the QueryTradeInfo / DoAction replies. `make fuzz` runs each for
// FUZZTIME; the seeds (below and testdata/fuzz/) run in `make test`.

// seedBodies are realistic callback bodies: every official vector as a
// posted form (V6 is a real PaymentInfoURL post), and signed ReturnURL,
// OrderResultURL and code-issued posts from the stage merchant.
func seedBodies(tb testing.TB) [][]byte {
	var out [][]byte
	for _, v := range loadVectorsTB(tb) {
		f := clone(v.Params)
		f[MACField] = v.Expected
		out = append(out, []byte(formOf(f).Encode()))
	}
	paid := map[string]string{
		"MerchantID": "3002607", "MerchantTradeNo": "TP1", "RtnCode": "1", "RtnMsg": "交易成功",
		"TradeAmt": "500", "TradeNo": "2412311225437371", "PaymentType": "Credit_CreditCard",
		"PaymentDate": "2026/12/01 10:00:00", "TradeDate": "2026/12/01 09:59:00",
		"SimulatePaid": "0", "card4no": "2222", "card6no": "431195", "CustomField1": "", "gwsr": "12345678",
	}
	out = append(out,
		signedBody(StageMerchant, paid),
		signedBody(StageMerchant, withAll(paid, "RtnCode", "10100248", "RtnMsg", "授權失敗")),
		signedBody(StageMerchant, withAll(paid, "SimulatePaid", "1")),
		signedBody(StageMerchant, withAll(paid, "RtnCode", "2", "PaymentType", "ATM_TAISHIN", "BankCode", "812",
			"vAccount", "9103522175887271", "ExpireDate", "2026/12/31")),
		signedBody(StageMerchant, withAll(paid, "RtnCode", "10100073", "PaymentType", "CVS_CVS",
			"PaymentNo", "LLL17355880822", "ExpireDate", "2026/12/31 10:00:00")),
		signedBody(StageMerchant, withAll(paid, "RtnCode", "10100073", "PaymentType", "BARCODE_BARCODE",
			"Barcode1", "151231617", "Barcode2", "1234567890123456", "Barcode3", "123115000000500", "ExpireDate", "2026/12/31")),
		[]byte("MerchantID=3002607&RtnCode=1&RtnCode=1"),
		[]byte("a=%zz"),
		[]byte("ItemName=A+B&x=%2B&y=~"),
	)
	return out
}

func formOf(f map[string]string) url.Values {
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	return v
}

// FuzzParseForm: a callback body parses into single-valued fields or is
// refused; what parses re-encodes and parses to the same fields. The same
// holds for replies, whose '+' stays literal, through EncodeReply (the
// sandbox's writer).
func FuzzParseForm(f *testing.F) {
	for _, b := range seedBodies(f) {
		fuzzcheck.Seed(f, b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if fields, err := ParseForm(body); err == nil {
			if len(fields) == 0 || len(fields) > len(body) {
				t.Fatalf("%d fields from %d bytes", len(fields), len(body))
			}
			again, err := ParseForm([]byte(formOf(fields).Encode()))
			if err != nil || !maps.Equal(again, fields) {
				t.Fatalf("form round trip: %q -> %q, %v", fields, again, err)
			}
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDuplicateField) {
			t.Fatalf("ParseForm error %v wraps neither ErrMalformed nor ErrDuplicateField", err)
		}
		if fields, err := ParseReply(body); err == nil {
			enc := EncodeReply(fields)
			again, err := ParseReply([]byte(enc))
			if err != nil || !maps.Equal(again, fields) {
				t.Fatalf("reply round trip: %q -> %q -> %q, %v", fields, enc, again, err)
			}
		}
	})
}

// caseTwin: ECPay lower-cases the whole encoded string before hashing,
// so an ASCII letter and its other case sign the same (the protocol's
// own blind spot, not ours).
func caseTwin(a, b byte) bool {
	return a != b && (a|0x20) == (b|0x20) && 'a' <= (a|0x20) && (a|0x20) <= 'z'
}

// FuzzCheckMacValue signs fuzzed fields with the real algorithm: they
// verify, through a form post too; one byte changed in any value (other
// than a letter's case) or in the MAC, or another merchant's keys, and
// they do not. A signed callback is never refused for its MAC, and what
// VerifyCallback accepts is consistent with its fields.
func FuzzCheckMacValue(f *testing.F) {
	for i, b := range seedBodies(f) {
		fuzzcheck.Seed(f, b, uint(i*7), byte('0'+i))
	}
	other := PublishedMerchants[1]
	ms := NewMerchants(StageMerchant)
	f.Fuzz(func(t *testing.T, body []byte, pos uint, b byte) {
		fields, err := ParseForm(body)
		if err != nil {
			return
		}
		fields["MerchantID"] = StageMerchant.ID
		delete(fields, MACField)
		mac := StageMerchant.Sign(fields)
		fields[MACField] = mac
		if err := StageMerchant.Verify(fields); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		if err := StageMerchant.Verify(withAll(fields, MACField, strings.ToLower(mac))); err != nil {
			t.Fatalf("lower-case MAC refused: %v", err)
		}
		if err := other.Verify(fields); !errors.Is(err, ErrBadMAC) {
			t.Fatalf("another merchant's keys: %v, want ErrBadMAC", err)
		}
		wire, err := ParseForm([]byte(formOf(fields).Encode()))
		if err != nil || StageMerchant.Verify(wire) != nil {
			t.Fatalf("signed fields do not verify after a form post: %v", err)
		}

		// One byte of one value changed.
		names := slices.Sorted(maps.Keys(fields))
		name := names[int(pos%uint(len(names)))]
		if v := fields[name]; name != MACField && v != "" {
			i := int(pos/uint(len(names))) % len(v)
			if v[i] != b && !caseTwin(v[i], b) {
				changed := withAll(fields, name, v[:i]+string(b)+v[i+1:])
				if err := StageMerchant.Verify(changed); !errors.Is(err, ErrBadMAC) {
					t.Fatalf("%s[%d] %q -> %q: %v, want ErrBadMAC", name, i, v[i], b, err)
				}
			}
		}
		// One byte of the MAC changed.
		if i := int(pos % uint(len(mac))); mac[i] != b && !caseTwin(mac[i], b) {
			if err := StageMerchant.Verify(withAll(fields, MACField, mac[:i]+string(b)+mac[i+1:])); !errors.Is(err, ErrBadMAC) {
				t.Fatalf("MAC[%d] changed: %v, want ErrBadMAC", i, err)
			}
		}
		// A field added, or one removed, breaks the MAC: every posted field counts.
		if _, taken := fields["Zz"+name]; !taken {
			if err := StageMerchant.Verify(withAll(fields, "Zz"+name, "")); !errors.Is(err, ErrBadMAC) {
				t.Fatalf("field added: %v, want ErrBadMAC", err)
			}
		}

		for _, kind := range []Kind{Notify, BrowserPost, PaymentInfo} {
			cb, err := ms.VerifyCallback(kind, fields)
			if errors.Is(err, ErrBadMAC) || errors.Is(err, ErrMissingMAC) || errors.Is(err, ErrUnknownMerchant) {
				t.Fatalf("signed callback refused: %v", err)
			}
			if err == nil {
				checkCallback(t, cb, fields)
			}
		}
	})
}

// checkCallback: an accepted callback says what its fields say.
func checkCallback(t *testing.T, cb Callback, fields map[string]string) {
	t.Helper()
	r := cb.Result
	if r.Amount <= 0 || r.MerchantTradeNo == "" || r.MerchantTradeNo != fields["MerchantTradeNo"] || r.MerchantID != StageMerchant.ID {
		t.Fatalf("accepted callback %+v from %q", r, fields)
	}
	switch r.Outcome {
	case gateway.Paid:
		if fields["RtnCode"] != RtnPaid || fields["SimulatePaid"] == "1" {
			t.Fatalf("paid with RtnCode %q SimulatePaid %q", fields["RtnCode"], fields["SimulatePaid"])
		}
	case gateway.CodesIssued:
		if r.PayUntil.IsZero() || (r.VirtualAccount == "" && r.PaymentNo == "" && r.Barcodes[0] == "") {
			t.Fatalf("codes issued without a code or deadline: %+v", r)
		}
	case gateway.Ignored:
		if !cb.Simulated {
			t.Fatalf("ignored but not simulated: %+v", r)
		}
	case gateway.Failed:
	default:
		t.Fatalf("outcome %q", r.Outcome)
	}
}

// FuzzVerifyCallback feeds whole bodies to the callback path: whatever it
// accepts carries exactly the MAC we compute for its fields (no forgery
// gets through), and the result is consistent with the fields.
func FuzzVerifyCallback(f *testing.F) {
	for _, b := range seedBodies(f) {
		fuzzcheck.Seed(f, b)
	}
	ms := NewMerchants(StageMerchant)
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := ParseForm(body)
		if err != nil {
			return
		}
		cb, err := ms.VerifyCallback(Notify, fields)
		if err != nil {
			return
		}
		if !strings.EqualFold(fields[MACField], StageMerchant.Sign(fields)) {
			t.Fatalf("accepted a MAC we did not compute: %q", fields)
		}
		checkCallback(t, cb, fields)
	})
}

// FuzzReplies: QueryTradeInfo and DoAction replies. What tradeInfo accepts
// verified under our keys and is the trade we asked for, with a positive
// amount; what CheckDoActionReply accepts said RtnCode 1 for our trade,
// and a signed one verified.
func FuzzReplies(f *testing.F) {
	info := map[string]string{
		"MerchantID": "3002607", "MerchantTradeNo": "TP1", "TradeNo": "2412311225437371", "TradeAmt": "500",
		"TradeStatus": "1", "PaymentType": "Credit_CreditCard", "PaymentDate": "2026/12/01 10:00:00",
		"TradeDate": "2026/12/01 09:59:00", "HandlingCharge": "13", "ItemName": "Logo design+1", "CustomField1": "",
	}
	doAct := map[string]string{"MerchantID": "3002607", "MerchantTradeNo": "TP1", "TradeNo": "2412311225437371", "RtnCode": "1", "RtnMsg": "成功"}
	signed := func(f map[string]string) []byte {
		f = clone(f)
		f[MACField] = StageMerchant.Sign(f)
		return []byte(EncodeReply(f))
	}
	for _, b := range [][]byte{
		signed(info), signed(withAll(info, "TradeStatus", "0", "PaymentDate", "")), signed(withAll(info, "MerchantTradeNo", "TP2")),
		[]byte("RtnCode=0&RtnMsg=Trade not found\r\n"), signed(doAct), []byte(EncodeReply(doAct)),
		[]byte(EncodeReply(withAll(doAct, "RtnCode", "10100050", "RtnMsg", "金額錯誤"))),
	} {
		fuzzcheck.Seed(f, b)
	}
	req := DoActionRequest{MerchantTradeNo: "TP1", TradeNo: "2412311225437371", Action: ActionRefund, TotalAmount: 500}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := ParseReply(bytes.TrimRight(body, "\r\n"))
		if err != nil {
			return
		}
		if ti, err := StageMerchant.tradeInfo("TP1", fields); err == nil {
			if StageMerchant.Verify(fields) != nil || ti.MerchantTradeNo != "TP1" || ti.TradeAmt <= 0 || ti.TradeStatus == "" {
				t.Fatalf("accepted reply %+v from %q", ti, fields)
			}
			if got, ok := fields["MerchantID"]; ok && got != StageMerchant.ID {
				t.Fatalf("reply for merchant %q accepted", got)
			}
			if ti.Paid() != (fields["TradeStatus"] == TradeStatusPaid) {
				t.Fatalf("Paid %v for TradeStatus %q", ti.Paid(), fields["TradeStatus"])
			}
		}
		reply, err := StageMerchant.CheckDoActionReply(req, string(body), fields)
		if err == nil {
			if !reply.OK() || fields["RtnCode"] != RtnPaid {
				t.Fatalf("DoAction accepted with RtnCode %q", fields["RtnCode"])
			}
			_, hasMAC := fields[MACField]
			if hasMAC != reply.Signed || (hasMAC && StageMerchant.Verify(fields) != nil) {
				t.Fatalf("DoAction reply signed %v, MAC present %v", reply.Signed, hasMAC)
			}
			for name, want := range map[string]string{"MerchantTradeNo": req.MerchantTradeNo, "TradeNo": req.TradeNo, "MerchantID": StageMerchant.ID} {
				if got, ok := fields[name]; ok && got != want {
					t.Fatalf("DoAction reply for %s %q accepted", name, got)
				}
			}
		}
		if len(quoteMsg(fields["RtnMsg"])) > 6*maxRtnMsg+16 {
			t.Fatalf("quoteMsg let %d bytes through", len(quoteMsg(fields["RtnMsg"])))
		}
	})
}

// A huge body costs memory in proportion to its size: many small fields,
// one long value, and a long run of separators.
func TestParseFormHugeInput(t *testing.T) {
	for name, body := range map[string][]byte{
		"fields":     bytes.Repeat([]byte("a=1&"), 1<<18),
		"value":      append([]byte("ItemName="), bytes.Repeat([]byte("%E4%BF%83"), 1<<17)...),
		"separators": bytes.Repeat([]byte("&"), 1<<20),
	} {
		fuzzcheck.Bounded(t, name, len(body), 64, func() {
			_, _ = ParseForm(body)
			_, _ = ParseReply(body)
		})
	}
	fields := map[string]string{"MerchantID": "3002607", "ItemName": strings.Repeat("商品", 1<<17)}
	fuzzcheck.Bounded(t, "sign", len(fields["ItemName"]), 32, func() { _ = StageMerchant.Sign(fields) })
}
