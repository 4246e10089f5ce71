package sandbox

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// paidCard creates a card order with autoBilling and pays it.
func (e *spEnv) paidCard(amount int64, autoBilling string) string {
	e.t.Helper()
	req := e.cardOrder(spOrderNo(), amount, autoBilling)
	created := e.create(spShopA, req)
	if status, page := e.payCard(created.CardParam.CardPayURL, sinopacSuccessCard); status != 200 {
		e.t.Fatalf("card payment: %d %s", status, page)
	}
	return req.OrderNo
}

type spStep struct {
	command string
	amount  int64  // TWD; 0 omits it
	refuse  string // "" = Status S; else the Description's E-code
	answer  int64  // the Amount answered (TWD) on success
}

// OrderMaintain (unconfirmed: from the bank's .NET models) in the
// sandbox: C cancels an authorisation only before capture, R refunds up to
// what remains, P captures; each answer is signed and recorded.
func TestSinoPacOrderMaintain(t *testing.T) {
	cases := []struct {
		name        string
		autoBilling string
		capture     bool // the scheduled capture happened (CaptureCard)
		steps       []spStep
		refunded    int64
	}{
		{name: "C before capture, then nothing", autoBilling: "N", steps: []spStep{
			{sinopac.CommandCancel, 0, "", 1000},
			{sinopac.CommandRefund, 100, "E0803", 0},
			{sinopac.CommandCancel, 0, "E0803", 0},
		}},
		{name: "R in parts before capture; C no longer", autoBilling: "N", steps: []spStep{
			{sinopac.CommandRefund, 300, "", 300},
			{sinopac.CommandCancel, 0, "E0805", 0},
			{sinopac.CommandRefund, 800, "E0806", 0},
			{sinopac.CommandRefund, 0, "", 700}, // omitted: all that remains
			{sinopac.CommandRefund, 1, "E0806", 0},
		}, refunded: 1000},
		{name: "captured at authorisation: C refused, R", autoBilling: "Y", steps: []spStep{
			{sinopac.CommandCancel, 0, "E0804", 0},
			{sinopac.CommandRefund, 1000, "", 1000},
		}, refunded: 1000},
		{name: "captured on schedule: C refused", autoBilling: "N", capture: true, steps: []spStep{
			{sinopac.CommandCancel, 0, "E0804", 0},
			{sinopac.CommandCapture, 0, "E0804", 0},
			{sinopac.CommandRefund, 400, "", 400},
		}, refunded: 400},
		{name: "P captures", autoBilling: "N", steps: []spStep{
			{sinopac.CommandCapture, 0, "", 0},
			{sinopac.CommandCancel, 0, "E0804", 0},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newSPEnv(t, []time.Duration{0}, spAck)
			no := e.paidCard(1000, c.autoBilling)
			if c.capture {
				if err := e.sb.CaptureCard(no); err != nil {
					t.Fatal(err)
				}
			}
			for i, s := range c.steps {
				resp, err := e.client(spShopA).OrderMaintain(waitCtx(t), sinopac.OrderMaintainRequest{OrderNo: no, Command: s.command, Amount: s.amount})
				var ae *sinopac.APIError
				switch {
				case s.refuse == "" && (err != nil || resp.Status != "S" || resp.Amount != s.answer || resp.TSNo == ""):
					t.Fatalf("step %d %s %d: %+v %v", i, s.command, s.amount, resp, err)
				case s.refuse != "" && (!errors.As(err, &ae) || !strings.HasPrefix(ae.Description, s.refuse)):
					t.Fatalf("step %d %s %d: %+v %v, want %s", i, s.command, s.amount, resp, err, s.refuse)
				}
			}
			log := e.sb.Maintenance(no)
			if len(log) != len(c.steps) || log[len(log)-1].Refunded != c.refunded {
				t.Fatalf("recorded %+v, want %d calls and %d TWD refunded", log, len(c.steps), c.refunded)
			}
			list := e.query(spShopA, sinopac.OrderQueryRequest{OrderNo: no}).OrderList
			if len(list) != 1 || (list[0].RefundFlag == "Y") != (c.refunded > 0) || list[0].RefundAmount != c.refunded {
				t.Fatalf("OrderQuery after the refunds: %+v", list)
			}
		})
	}
}

func TestSinoPacOrderMaintainRefuses(t *testing.T) {
	e := newSPEnv(t, []time.Duration{0}, spAck)
	atm := e.atmOrder(spOrderNo(), 500)
	e.create(spShopA, atm)
	if err := e.sb.PayATM(atm.OrderNo); err != nil {
		t.Fatal(err)
	}
	unpaid := e.cardOrder(spOrderNo(), 500, "Y")
	e.create(spShopA, unpaid)
	paid := e.paidCard(500, "Y")
	for _, c := range []struct {
		name, orderNo, desc string
		shop                SinoPacShop
	}{
		{"ATM order", atm.OrderNo, "E0801", spShopA},
		{"unpaid card order", unpaid.OrderNo, "E0802", spShopA},
		{"unknown order", "SPNOSUCHORDER", "E0201", spShopA},
		{"another shop's order", paid, "E0201", spShopB},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.client(c.shop).OrderMaintain(waitCtx(t), sinopac.OrderMaintainRequest{OrderNo: c.orderNo, Command: sinopac.CommandRefund, Amount: 100})
			var ae *sinopac.APIError
			if !errors.As(err, &ae) || !strings.HasPrefix(ae.Description, c.desc) {
				t.Fatalf("%v, want %s", err, c.desc)
			}
		})
	}
	if err := e.sb.CaptureCard(unpaid.OrderNo); err == nil {
		t.Fatal("captured an unpaid order")
	}
}
