package sandbox

import (
	"errors"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

func TestSinoPacSetOrderStatus(t *testing.T) {
	e := newSPEnv(t, []time.Duration{0}, spAck)
	atm := e.atmOrder(spOrderNo(), 700)
	e.create(spShopA, atm)
	card := e.cardOrder(spOrderNo(), 900, "Y")
	e.create(spShopA, card)
	listed := func(orderNo string) sinopac.OrderInfo {
		t.Helper()
		resp := e.query(spShopA, sinopac.OrderQueryRequest{OrderNo: orderNo})
		if len(resp.OrderList) != 1 {
			t.Fatalf("OrderQuery %s listed %d orders", orderNo, len(resp.OrderList))
		}
		return resp.OrderList[0]
	}
	cases := []struct {
		name, orderNo, payStatus, refundFlag string
		wantStatus, wantRefund               string
	}{
		{"ATM untouched", atm.OrderNo, "", "", sinopacATMUnpaid, "N"},
		{"ATM paid and refunded", atm.OrderNo, sinopacATMPaid, "Y", sinopacATMPaid, "Y"},
		{"only the refund flag", atm.OrderNo, "", "Y", sinopacATMUnpaid, "Y"},
		{"ATM restored", atm.OrderNo, "", "", sinopacATMUnpaid, "N"},
		{"card authorised", card.OrderNo, sinopacCardAuthed, "", sinopacCardAuthed, "N"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := e.sb.SetOrderStatus(c.orderNo, c.payStatus, c.refundFlag); err != nil {
				t.Fatal(err)
			}
			got := listed(c.orderNo)
			if got.PayStatus != c.wantStatus || got.RefundFlag != c.wantRefund {
				t.Fatalf("listed PayStatus %q RefundFlag %q, want %q %q", got.PayStatus, got.RefundFlag, c.wantStatus, c.wantRefund)
			}
		})
	}
	// The knob only changes what OrderQuery lists: the order is not paid.
	if err := e.sb.SetOrderStatus(atm.OrderNo, sinopacATMPaid, ""); err != nil {
		t.Fatal(err)
	}
	if d := e.sb.BackendDeliveries(atm.OrderNo); len(d) != 0 {
		t.Fatalf("knob started deliveries: %+v", d)
	}
	if err := e.sb.PayATM(atm.OrderNo); err != nil {
		t.Fatalf("order paid by the knob: %v", err)
	}
	if err := e.sb.SetOrderStatus("NOPE", sinopacATMPaid, ""); !errors.Is(err, ErrSinoPacUnknownOrder) {
		t.Fatalf("unknown order: %v", err)
	}
}

func TestSinoPacFailOrderQuery(t *testing.T) {
	e := newSPEnv(t, []time.Duration{0}, spAck)
	req := e.atmOrder(spOrderNo(), 700)
	e.create(spShopA, req)
	never := spOrderNo() // an order the bank never created
	ask := func(orderNo string) (sinopac.OrderQueryResponse, error) {
		return e.client(spShopA).OrderQuery(waitCtx(t), sinopac.OrderQueryRequest{OrderNo: orderNo})
	}
	e.sb.FailOrderQuery(never, "E0201 查無資料")
	e.sb.FailOrderQuery(req.OrderNo, "E9999 down")
	for _, no := range []string{never, req.OrderNo} {
		resp, err := ask(no)
		var apiErr *sinopac.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != sinopac.StatusFailure || len(resp.OrderList) != 0 {
			t.Fatalf("OrderQuery %s: %+v %v, want a signed Status F", no, resp, err)
		}
	}
	// Another question is answered as usual; restoring brings the order back.
	if resp, err := ask(spOrderNo()); err != nil || resp.Status != sinopac.StatusSuccess {
		t.Fatalf("other order: %+v %v", resp, err)
	}
	e.sb.FailOrderQuery(req.OrderNo, "")
	if resp, err := ask(req.OrderNo); err != nil || len(resp.OrderList) != 1 {
		t.Fatalf("restored: %+v %v", resp, err)
	}
}
