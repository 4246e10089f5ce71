package sandbox

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// SinoPac's index form arms a trade's next BackendURL callback: dropped
// (never sent, WaitBackendAcked gives up), or duplicated (sent twice).
func TestSinoPacTesterFaults(t *testing.T) {
	e := newSPEnv(t, []time.Duration{0}, spAck)
	arm := func(orderNo, fault string) {
		t.Helper()
		resp, err := noFollow.PostForm(e.base+"/tester/callbacks", url.Values{"trade": {orderNo}, "fault": {fault}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/sandbox/sinopac/?armed="+orderNo {
			t.Fatalf("arm: HTTP %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	dropped := e.atmOrder(spOrderNo(), 900)
	e.create(spShopA, dropped)
	arm(dropped.OrderNo, "drop")
	if _, page := e.get(e.base + "/"); !strings.Contains(page, `class="armed">drop<`) || !strings.Contains(page, `action="/sandbox/sinopac/tester/callbacks"`) {
		t.Fatalf("index:\n%s", page)
	}
	if err := e.sb.PayATM(dropped.OrderNo); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.WaitBackendAcked(waitCtx(t), dropped.OrderNo); !errors.Is(err, ErrSinoPacNotAcked) {
		t.Fatalf("dropped callback: %v", err)
	}
	if token := e.sb.lastToken(t, dropped.OrderNo); len(e.shop.deliveries(token)) != 0 {
		t.Fatal("the shop received a dropped callback")
	}

	twice := e.atmOrder(spOrderNo(), 900)
	e.create(spShopA, twice)
	arm(twice.OrderNo, "duplicate")
	if err := e.sb.PayATM(twice.OrderNo); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(e.shop.deliveries(e.sb.lastToken(t, twice.OrderNo))) == 2 })
	if err := e.sb.Arm("NOSUCHORDER", FaultDrop, 0); !errors.Is(err, ErrSinoPacUnknownOrder) {
		t.Fatalf("unknown order: %v", err)
	}
}
