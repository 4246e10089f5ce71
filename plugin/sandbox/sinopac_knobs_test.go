package sandbox

import (
	"errors"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

func TestSinoPacSetAPType(t *testing.T) {
	e := newSPEnv(t, []time.Duration{0}, spAck)
	req := e.atmOrder(spOrderNo(), 700)
	e.create(spShopA, req)
	if err := e.sb.PayATM(req.OrderNo); err != nil {
		t.Fatal(err)
	}
	token := e.sb.lastToken(t, req.OrderNo)
	cases := []struct {
		name, set, want string
		paid            bool
	}{
		{"default", "", sinopac.APTypePayOut, true},
		{"other APType", "Refund", "Refund", false},
		{"restored", "", sinopac.APTypePayOut, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := e.sb.SetAPType(req.OrderNo, c.set); err != nil {
				t.Fatal(err)
			}
			pq, err := e.payQuery(spShopA, token)
			if err != nil || pq.TSResultContent == nil {
				t.Fatalf("%+v %v", pq, err)
			}
			if got := pq.TSResultContent.APType; got != c.want || pq.Paid() != c.paid {
				t.Fatalf("APType %q (paid %v), want %q (paid %v)", got, pq.Paid(), c.want, c.paid)
			}
		})
	}
	if err := e.sb.SetAPType("NOPE", "Refund"); !errors.Is(err, ErrSinoPacUnknownOrder) {
		t.Fatalf("unknown order: %v", err)
	}
}
