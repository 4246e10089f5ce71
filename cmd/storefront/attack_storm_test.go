package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/htmlform"
)

// stormOrder is one order paid at its sandbox whose callbacks have not
// reached us yet: the bodies its gateway's server and the shopper's
// browser post.
type stormOrder struct {
	gateway, serverPath, browserPath, ack string
	serverCT                              string
	server, browser                       []byte
}

// paidAtGateway pays one order at gateway's sandbox (its own server
// callback dropped, which also spares the page's wait for it; SinoPac's
// scheduled an hour away) and keeps the return form the gateway's page
// hands the browser, unsent. The server callback is the
// same authenticated fields (ECPay signs every field whatever the route;
// the credit center posts one body to both; SinoPac sends ShopNo and
// PayToken, as JSON to the server).
func paidAtGateway(t *testing.T, x *attackApp, b *browser, gateway string) stormOrder {
	t.Helper()
	var page response
	o := stormOrder{gateway: gateway, serverCT: "application/x-www-form-urlencoded"}
	switch gateway {
	case "ecpay":
		sel := b.Get("/shop/services/logo-design")
		payPage := b.Submit(b.Submit(sel, "/shop/checkout", withBuyer(url.Values{"method": {"ecpay_credit"}})), "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
		no, _ := lastOrder(t, x.db)
		if err := x.app.ecpay.Arm(attemptTradeNo(t, x.db, no, 1), sandbox.FaultDrop, 0); err != nil {
			t.Fatal(err)
		}
		page = b.Submit(payPage, "/sandbox/ecpay/", card.ok)
		o.serverPath, o.browserPath, o.ack = "/payments/ecpay/notify", "/payments/ecpay/result", "1|OK"
	case "sinopac":
		page = payCard(b, checkoutWith(b, "logo-design", "sinopac_card"), sinopacCard.ok)
		o.serverPath, o.browserPath, o.ack, o.serverCT = "/payments/sinopac/backend", "/payments/sinopac/return", `{"Status":"S"}`, "application/json"
	default:
		cardPage := ccCardPage(b, "logo-design")
		no, _ := lastOrder(t, x.db)
		if err := x.app.creditcenter.Arm(attemptTradeNo(t, x.db, no, 1), sandbox.FaultDrop, 0); err != nil {
			t.Fatal(err)
		}
		page = ccPay(b, cardPage, ccCard.ok)
		o.serverPath, o.browserPath, o.ack = "/payments/creditcenter/notify", "/payments/creditcenter/return", "OK"
	}
	f, err := htmlform.One(page.Body, page.URL, o.browserPath)
	if err != nil {
		t.Fatalf("%s: no return form: %v\n%s", gateway, err, page.Body)
	}
	o.browser, o.server = []byte(f.Values.Encode()), []byte(f.Values.Encode())
	if gateway == "sinopac" {
		o.server, _ = json.Marshal(map[string]string{"ShopNo": f.Values.Get("ShopNo"), "PayToken": f.Values.Get("PayToken")})
	}
	return o
}

// A storm of duplicate deliveries, every gateway's server and browser
// callbacks at once over many connections, for orders paid at the
// gateways: exactly one transition to paid per order, one side effect
// each (River's job rows, and the host hook's calls once River runs),
// every delivery acknowledged as its protocol wants (a browser return:
// its order page), and PostgreSQL never detects a deadlock.
func TestAttackDuplicateStorm(t *testing.T) {
	orders := scale(t, "CHAOS_ORDERS", 20)
	deliveries := scale(t, "CHAOS_DELIVERIES", 200)
	workers := scale(t, "CHAOS_WORKERS", 32)
	later := []time.Duration{time.Hour} // the sandboxes' own server callbacks wait: the storm is first
	x := attackDemo(t, sandboxSchedules{ecpayNotify: later, sinopacBackend: later, creditcenterNotify: later})

	gateways := []string{"ecpay", "sinopac", "creditcenter"}
	browsers := map[string]*browser{}
	var paid []stormOrder
	for i := range orders {
		g := gateways[i%len(gateways)]
		if browsers[g] == nil {
			browsers[g] = newBrowser(t, x.srv, "en")
		}
		paid = append(paid, paidAtGateway(t, x, browsers[g], g))
	}
	if n := count(t, x.db, "SELECT count(*) FROM status_changes WHERE to_status = 'paid'"); n != 0 {
		t.Fatalf("%d orders paid before the storm", n)
	}

	// Every order gets its server and browser callbacks, then copies of
	// either, to deliveries in all, shuffled.
	var all []post
	for i := range deliveries {
		o := paid[i%len(paid)]
		if (i/len(paid))%2 == 0 {
			all = append(all, post{o.serverPath, o.serverCT, o.server})
		} else {
			all = append(all, post{o.browserPath, "application/x-www-form-urlencoded", o.browser})
		}
	}
	rng := rand.New(rand.NewPCG(13, 1000))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

	started := time.Now()
	var mu sync.Mutex
	var failures []string
	acked := 0
	jobs := make(chan post)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for p := range jobs {
				ans, err := x.send(p)
				bad := ""
				switch {
				case err != nil:
					bad = err.Error()
				case strings.HasSuffix(p.path, "/result") || strings.HasSuffix(p.path, "/return"):
					if ans.status != 303 {
						bad = fmt.Sprintf("%d, want 303 to the order", ans.status)
					}
				case ans.status != 200 || !isAck(ans.body):
					bad = fmt.Sprintf("%d %.80q, want the acknowledgement", ans.status, ans.body)
				}
				mu.Lock()
				if bad == "" {
					acked++
				} else if len(failures) < 20 {
					failures = append(failures, p.path+": "+bad)
				}
				mu.Unlock()
			}
		})
	}
	for _, p := range all {
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(started)
	for _, f := range failures {
		t.Error(f)
	}

	transitions := count(t, x.db, "SELECT count(*) FROM status_changes WHERE to_status = 'paid'")
	paidOrders := count(t, x.db, "SELECT count(*) FROM orders WHERE status = 'paid'")
	jobRows := count(t, x.db, "SELECT count(*) FROM river_job WHERE kind = ? AND args->>'topic' = ?", checkout.SideEffect{}.Kind(), checkout.TopicOrderPaid)
	applied := count(t, x.db, "SELECT count(*) FROM events WHERE verdict = 'applied'")
	if transitions != orders || paidOrders != orders || jobRows != orders || applied != orders {
		t.Errorf("%d orders: %d transitions to paid, %d paid, %d order.paid jobs, %d applied events", orders, transitions, paidOrders, jobRows, applied)
	}

	// River delivers the side effects to the host's hook (the demo's logs
	// "order confirmed" with the job's id): once each.
	ctx, cancel := context.WithCancel(context.Background())
	if err := x.app.plugin.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		x.app.plugin.Stop(stop) //nolint:errcheck
	})
	hookCalls := func() int { return strings.Count(x.logs.String(), `msg="order confirmed"`) }
	for deadline := time.Now().Add(30 * time.Second); hookCalls() < orders && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if count(t, x.db, "SELECT count(*) FROM river_job WHERE kind = ? AND state <> 'completed'", checkout.SideEffect{}.Kind()) == 0 {
			break
		}
	}
	if n := hookCalls(); n != orders {
		t.Errorf("the host's hook was called %d times for %d orders", n, orders)
	}
	x.noDeadlock(t)
	t.Logf("storm: %d deliveries for %d orders (%d gateways, server and browser) over %d workers in %s: %d acknowledged, %d transitions to paid, %d side-effect jobs, %d hook calls, 0 deadlocks",
		len(all), orders, len(gateways), workers, elapsed.Round(time.Millisecond), acked, transitions, jobRows, hookCalls())
}
