package callback

import "github.com/twpay/twpay/plugin/checkout"

func orderNo(o *checkout.Order) string {
	if o == nil {
		return ""
	}
	return o.OrderNo
}
