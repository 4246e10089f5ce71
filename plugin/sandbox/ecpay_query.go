package sandbox

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// ecpayTimeStampWindow: QueryTradeInfo's TimeStamp is valid 3 minutes (ecpay.md §5).
const ecpayTimeStampWindow = 3 * time.Minute

// queryTradeInfo answers QueryTradeInfo V5 (ecpay.md §5) with a signed
// k=v&... body. It reads the request urlencoded or multipart/form-data,
// as ECPay does (readECPayForm).
//
// Errors are answered as an unsigned "RtnCode=0&RtnMsg=..." body: HTTP 400
// for a bad request (fields, merchant, CheckMacValue, TimeStamp) and HTTP
// 200 for an unknown trade. ECPay's exact error replies are UNCONFIRMED; a
// client that verifies the CheckMacValue of every reply (as it must)
// rejects both.
func (s *ECPay) queryTradeInfo(c *gin.Context) {
	f, err := readECPayForm(c)
	if err != nil {
		ecpayErrorReply(c, http.StatusBadRequest, "Parameter Error: malformed form")
		return
	}
	for _, name := range []string{"MerchantID", "MerchantTradeNo", "TimeStamp", ecpay.MACField} {
		if f[name] == "" {
			ecpayErrorReply(c, http.StatusBadRequest, "Parameter Error: "+name+" is required")
			return
		}
	}
	m, err := s.merchants.Lookup(f["MerchantID"])
	if err != nil {
		ecpayErrorReply(c, http.StatusBadRequest, "MerchantID Error")
		return
	}
	if err := m.Verify(f); err != nil {
		ecpayErrorReply(c, http.StatusBadRequest, ecpayCodeMAC+" CheckMacValue Error")
		return
	}
	ts, err := strconv.ParseInt(f["TimeStamp"], 10, 64)
	if age := s.now().Sub(time.Unix(ts, 0)); err != nil || age > ecpayTimeStampWindow || age < -ecpayTimeStampWindow {
		ecpayErrorReply(c, http.StatusBadRequest, "TimeStamp Error: not within 3 minutes")
		return
	}

	s.mu.Lock()
	t := s.byKey[m.ID+"\x00"+f["MerchantTradeNo"]]
	var reply map[string]string
	if t != nil {
		reply = s.queryFields(t)
	}
	s.mu.Unlock()
	if t == nil {
		ecpayErrorReply(c, http.StatusOK, "Cant not find the trade data.")
		return
	}
	reply[ecpay.MACField] = m.Sign(reply)
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(ecpay.EncodeReply(reply)))
}

// queryFields is the trade as QueryTradeInfo reports it. Caller holds s.mu.
func (s *ECPay) queryFields(t *ecpayTrade) map[string]string {
	co := t.checkout
	f := map[string]string{
		"MerchantID":           t.merchant.ID,
		"MerchantTradeNo":      co["MerchantTradeNo"],
		"StoreID":              co["StoreID"],
		"TradeNo":              t.tradeNo,
		"TradeAmt":             strconv.FormatInt(t.amount, 10),
		"PaymentDate":          "",
		"PaymentType":          "",
		"HandlingCharge":       "0",
		"PaymentTypeChargeFee": "0",
		"TradeDate":            ecpay.FormatDate(t.created),
		"TradeStatus":          "0", // created, unpaid
		"ItemName":             co["ItemName"],
		"CustomField1":         co["CustomField1"],
		"CustomField2":         co["CustomField2"],
		"CustomField3":         co["CustomField3"],
		"CustomField4":         co["CustomField4"],
	}
	switch t.state {
	case ecpayCreated:
		if t.code != nil {
			// An issued, unpaid code: still TradeStatus 0; that ECPay already
			// names its PaymentType then is UNCONFIRMED. A code past its
			// deadline stays 0 too: §5 knows no "expired" status.
			f["PaymentType"] = t.code.fields["PaymentType"]
		}
	case ecpayPaid:
		fee := t.result["PaymentTypeChargeFee"]
		f["TradeStatus"] = "1"
		f["PaymentDate"] = t.result["PaymentDate"]
		f["PaymentType"] = t.result["PaymentType"]
		f["HandlingCharge"] = fee // UNCONFIRMED: the sandbox reports the fee in both fields
		f["PaymentTypeChargeFee"] = fee
	case ecpayDeclined:
		// A declined card leaves the trade unpaid: TradeStatus 0 (UNCONFIRMED;
		// 10200095 means the shopper never chose a method, not a decline).
		f["PaymentType"] = t.result["PaymentType"]
	}
	// An unpaid trade's PaymentDate/PaymentType ("" here) are UNCONFIRMED.
	return f
}

func ecpayErrorReply(c *gin.Context, status int, msg string) {
	body := ecpay.EncodeReply(map[string]string{"RtnCode": "0", "RtnMsg": msg})
	c.Data(status, "text/plain; charset=utf-8", []byte(body))
}
