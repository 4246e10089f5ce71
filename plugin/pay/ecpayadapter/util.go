package ecpayadapter

import (
	"encoding/json"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
)

// resultFor starts a query result for a: same merchant, trade and amount.
func resultFor(a *checkout.Attempt) gateway.Result {
	return gateway.Result{MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount}
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
