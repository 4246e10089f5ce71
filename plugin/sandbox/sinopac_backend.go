package sandbox

import (
	"encoding/json"
	"fmt"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// sinopacBackendPost is the BackendURL body: plain, unsigned JSON
// (sinopac.md §6), so a shop must confirm it with OrderPayQuery.
type sinopacBackendPost struct {
	ShopNo   string `json:"ShopNo"`
	PayToken string `json:"PayToken"`
}

// startDeliveryLocked starts posting {ShopNo, PayToken} of a just-paid
// order to BackendURL on the schedule until the shop acknowledges it
// (sinopacNotAck), the schedule ends, or the sandbox closes. Caller holds
// s.mu.
func (s *SinoPac) startDeliveryLocked(o *sinopacOrder) {
	if o.req.BackendURL == "" || o.paid == nil {
		return
	}
	body, _ := sinopac.Marshal(sinopacBackendPost{ShopNo: o.shopNo, PayToken: o.paid.token})
	s.callbacks.startLocked(&o.backend, o.key(), func(int) Delivery {
		return s.callbacks.post(o.req.BackendURL, "application/json", body, sinopacNotAck)
	}, "BackendURL delivered", "shop", o.shopNo, "order", o.req.OrderNo)
}

// sinopacNotAck says why a BackendURL answer's body is not an ack, or "":
// an ack is a JSON body whose Status is "S" (sinopac.md §6).
func sinopacNotAck(body []byte) string {
	var ack struct {
		Status string `json:"Status"`
	}
	switch {
	case json.Unmarshal(body, &ack) != nil:
		return `answer is not JSON; want {"Status":"S"}`
	case ack.Status != sinopac.StatusSuccess:
		return fmt.Sprintf(`answer Status is %q; want {"Status":"S"}`, ack.Status)
	}
	return ""
}
