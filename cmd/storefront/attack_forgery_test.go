package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// target is one gateway's material for forgeries: a paid and then
// refunded order's genuine callbacks (server and browser), and another
// order still waiting for its payment.
type target struct {
	gateway             string
	serverPath, ack     string // the server callback's route and acknowledgement
	browserPath         string
	server, browser     string // genuine bodies of the refunded order
	otherTrade          string // the waiting order's merchant trade number
	otherAmount         int64
	serverCT, browserCT string
}

// forgery is one generated delivery: wrong in exactly one way (class),
// or, for receipt, a genuine callback the protocol must acknowledge again.
type forgery struct {
	class   string
	receipt bool
	ignored bool // a receipt recorded ignored, not duplicate
	post
}

// genuineBody is the body of the order's first verified callback of kind.
func genuineBody(t *testing.T, x *attackApp, orderNo, kind string) string {
	t.Helper()
	var body string
	if err := x.db.NewRaw(`SELECT e.body FROM events e JOIN orders o ON o.id = e.order_id
		WHERE o.order_no = ? AND e.kind = ? AND e.verdict IN ('applied', 'duplicate') ORDER BY e.id LIMIT 1`, orderNo, kind).
		Scan(context.Background(), &body); err != nil {
		t.Fatalf("order %s has no verified %s callback: %v", orderNo, kind, err)
	}
	return body
}

// refund refunds the whole order through the plugin (a manual refund is
// marked done) and checks that it is refunded.
func refund(t *testing.T, x *attackApp, orderNo string) {
	t.Helper()
	ctx := context.Background()
	r, err := x.app.plugin.Refund(ctx, plugin.RefundRequest{OrderNo: orderNo, By: "attack suite", Reason: "forgery suite", IdempotencyKey: "attack-" + orderNo})
	if err != nil {
		t.Fatalf("refund %s: %v", orderNo, err)
	}
	if o, err := x.app.plugin.Store().Order(ctx, orderNo); err == nil && o.Status != checkout.Refunded {
		if _, err := x.app.plugin.MarkRefundDone(ctx, r.ID, "attack suite"); err != nil {
			t.Fatalf("refund %s (%s): %v", orderNo, o.Status, err)
		}
	}
	if o, err := x.app.plugin.Store().Order(ctx, orderNo); err != nil || o.Status != checkout.Refunded {
		t.Fatalf("order %s after the refund: %v", orderNo, err)
	}
}

func waitingOrder(t *testing.T, x *attackApp) (tradeNo string, amount int64) {
	t.Helper()
	no, _ := lastOrder(t, x.db)
	if err := x.db.NewRaw(`SELECT a.merchant_trade_no, a.amount FROM payment_attempts a JOIN orders o ON o.id = a.order_id
		WHERE o.order_no = ? ORDER BY a.seq DESC LIMIT 1`, no).Scan(context.Background(), &tradeNo, &amount); err != nil {
		t.Fatal(err)
	}
	return tradeNo, amount
}

// targets pays one order per gateway through its sandbox (the journeys'
// clicks), waits for the server callback's acknowledgement, refunds it,
// and leaves one more order per gateway waiting at the gateway.
func targets(t *testing.T, x *attackApp) []target {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []target

	b := newBrowser(t, x.srv, "en")
	no := orderNoFrom(t, buy(b, "logo-design", card.ok))
	if err := x.app.ecpay.WaitAcked(ctx, attemptTradeNo(t, x.db, no, 1)); err != nil {
		t.Fatal(err)
	}
	ec := target{gateway: "ecpay", serverPath: "/payments/ecpay/notify", ack: ecpay.Ack, browserPath: "/payments/ecpay/result",
		server: genuineBody(t, x, no, "notify"), browser: genuineBody(t, x, no, "result"),
		serverCT: "application/x-www-form-urlencoded", browserCT: "application/x-www-form-urlencoded"}
	refund(t, x, no)
	b.Submit(b.Get("/shop/services/website-audit"), "/shop/checkout", withBuyer(url.Values{"method": {"ecpay_credit"}}))
	ec.otherTrade, ec.otherAmount = waitingOrder(t, x)
	out = append(out, ec)

	b = newBrowser(t, x.srv, "en")
	res := b.Submit(payCard(b, checkoutWith(b, "logo-design", "sinopac_card"), sinopacCard.ok), "/payments/sinopac/return", nil)
	no = orderNoFrom(t, res)
	if err := x.app.sinopac.WaitBackendAcked(ctx, attemptTradeNo(t, x.db, no, 1)); err != nil {
		t.Fatal(err)
	}
	sp := target{gateway: "sinopac", serverPath: "/payments/sinopac/backend", ack: `{"Status":"S"}`, browserPath: "/payments/sinopac/return",
		server: genuineBody(t, x, no, "backend"), browser: genuineBody(t, x, no, "return"),
		serverCT: "application/json", browserCT: "application/x-www-form-urlencoded"}
	refund(t, x, no)
	checkoutWith(b, "website-audit", "sinopac_card")
	sp.otherTrade, sp.otherAmount = waitingOrder(t, x)
	out = append(out, sp)

	b = newBrowser(t, x.srv, "en")
	no = orderNoFrom(t, ccBuy(b, "logo-design", ccCard.ok))
	if err := x.app.creditcenter.WaitAcked(ctx, attemptTradeNo(t, x.db, no, 1)); err != nil {
		t.Fatal(err)
	}
	cc := target{gateway: "creditcenter", serverPath: "/payments/creditcenter/notify", ack: "OK", browserPath: "/payments/creditcenter/return",
		server: genuineBody(t, x, no, "notify"), browser: genuineBody(t, x, no, "return"),
		serverCT: "application/x-www-form-urlencoded", browserCT: "application/x-www-form-urlencoded"}
	refund(t, x, no)
	ccCardPage(b, "website-audit")
	cc.otherTrade, cc.otherAmount = waitingOrder(t, x)
	out = append(out, cc)
	return out
}

// Every forged, malformed or replayed callback, thousands per gateway:
// nothing changes (an md5 of every business row before and after), each
// forgery is answered 4xx and recorded rejected with a reason, and each
// genuine replay gets the protocol's receipt (ECPay "1|OK", SinoPac
// {"Status":"S"}, the credit center "OK"; a browser return its order
// page) and is recorded a duplicate: the gateways re-send until they read
// it (ecpay.md §4.1, sinopac.md §6).
func TestAttackForgedCallbacksChangeNothing(t *testing.T) {
	per := scale(t, "CHAOS_FORGERIES", 200)
	n := time.Now().In(checkout.Taipei)
	ten := time.Date(n.Year(), n.Month(), n.Day(), 10, 0, 0, 0, checkout.Taipei)
	x := attackDemo(t, sandboxSchedules{refundClock: func() time.Time { return ten }})
	tgs := targets(t, x)

	before, firstEvent := stateDigest(t, x.db), maxEventID(t, x.db)
	rng := rand.New(rand.NewPCG(13, 2026))
	var all []forgery
	classes := map[string]int{}
	for _, tg := range tgs {
		for range per {
			f := forge(t, rng, tg)
			classes[tg.gateway+": "+f.class]++
			all = append(all, f)
		}
	}

	started := time.Now()
	var mu sync.Mutex
	var failures []string
	receipts, rejections, ignored := 0, 0, 0
	jobs := make(chan forgery)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for f := range jobs {
				ans, err := x.send(f.post)
				bad := ""
				browser := !strings.HasSuffix(f.path, "/notify") && !strings.HasSuffix(f.path, "/backend")
				switch {
				case err != nil:
					bad = err.Error()
				case f.ignored && browser && ans.status != 400:
					bad = fmt.Sprintf("%d, want 400: no order to show", ans.status)
				case f.receipt && !f.ignored && browser && ans.status != 303:
					bad = fmt.Sprintf("%d, want 303 to the order", ans.status)
				case f.receipt && !browser && (ans.status != 200 || !isAck(ans.body)):
					bad = fmt.Sprintf("%d %q, want the acknowledgement", ans.status, ans.body)
				case !f.receipt && (ans.status < 400 || ans.status > 499 || isAck(ans.body)):
					bad = fmt.Sprintf("%d %.80q, want 4xx without the acknowledgement", ans.status, ans.body)
				}
				mu.Lock()
				if f.ignored {
					ignored++
				} else if f.receipt {
					receipts++
				} else {
					rejections++
				}
				if bad != "" && len(failures) < 20 {
					failures = append(failures, fmt.Sprintf("%s %s: %s", f.path, f.class, bad))
				}
				mu.Unlock()
			}
		})
	}
	for _, f := range all {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(started)
	for _, f := range failures {
		t.Error(f)
	}

	after := stateDigest(t, x.db)
	changed := 0
	for table, sum := range before {
		if after[table] != sum {
			changed++
			t.Errorf("%s changed under forged callbacks", table)
		}
	}
	// Every delivery is in the event log once: forgeries rejected with a
	// reason, genuine replays as duplicates.
	type row struct {
		Verdict, Reason string
		N               int
	}
	var rows []row
	if err := x.db.NewRaw(`SELECT verdict, reason, count(*) AS n FROM events WHERE id > ? AND verdict <> 'recorded' GROUP BY 1, 2`, firstEvent).
		Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	verdicts, reasons := map[string]int{}, map[string]int{}
	for _, r := range rows {
		verdicts[r.Verdict] += r.N
		if r.Verdict == string(checkout.Rejected) {
			if r.Reason == "" {
				t.Errorf("%d rejected events without a reason", r.N)
			}
			reasons[reasonClass(r.Reason)] += r.N
		}
	}
	if verdicts["rejected"] != rejections || verdicts["duplicate"] != receipts || verdicts["ignored"] != ignored || len(verdicts) > 3 {
		t.Errorf("event log %v: want %d rejected, %d duplicate and %d ignored", verdicts, rejections, receipts, ignored)
	}

	t.Logf("forgery: %d deliveries (%d per gateway) in %s: %d forgeries answered 4xx and recorded rejected; %d genuine replays acknowledged (%d duplicate, %d ignored copies); %d state changes",
		len(all), per, elapsed.Round(time.Millisecond), rejections, receipts+ignored, receipts, ignored, changed)
	for _, k := range slices.Sorted(maps.Keys(classes)) {
		t.Logf("  sent  %5d  %s", classes[k], k)
	}
	for _, k := range slices.Sorted(maps.Keys(reasons)) {
		t.Logf("  rejected %5d  %s", reasons[k], k)
	}
	x.noDeadlock(t)
}

func isAck(body string) bool {
	return body == ecpay.Ack || body == `{"Status":"S"}` || body == "OK"
}

// reasonClass shortens a rejection reason to its kind, for the figures:
// no trade numbers or amounts.
func reasonClass(r string) string {
	r = strings.TrimPrefix(r, "callback rejected: ")
	switch {
	case strings.Contains(r, "sent more than once"):
		return r[:strings.Index(r, "sent more than once")] + "sent more than once"
	case strings.HasPrefix(r, "replay key "):
		return "replay key refused before (the bank said no to this PayToken)"
	}
	if i := strings.IndexAny(r, "0123456789\"'("); i > 0 {
		r = r[:i]
	}
	return strings.TrimRight(strings.TrimSpace(r), ":,")
}

// forge makes one delivery for tg, to its server or browser route.
func forge(t *testing.T, rng *rand.Rand, tg target) forgery {
	t.Helper()
	path, body, ct := tg.serverPath, tg.server, tg.serverCT
	if rng.IntN(2) == 1 {
		path, body, ct = tg.browserPath, tg.browser, tg.browserCT
	}
	// Transport faults are the same for every gateway.
	switch rng.IntN(12) {
	case 0:
		return forgery{class: "oversize", post: post{path, ct, []byte(body + "&Pad=" + strings.Repeat("A", 65<<10))}}
	case 1:
		wrong := []string{"application/json", "text/plain", "multipart/form-data; boundary=x", "text/xml", "application/octet-stream"}
		if ct == "application/json" {
			wrong[0] = "application/x-www-form-urlencoded"
		}
		return forgery{class: "wrong content type", post: post{path, wrong[rng.IntN(len(wrong))], []byte(body)}}
	case 2:
		i := rng.IntN(len(body))
		return forgery{class: "invalid UTF-8", post: post{path, ct, []byte(body[:i] + "\xff\xfe" + body[i:])}}
	case 3:
		i := rng.IntN(len(body))
		return forgery{class: "NUL byte", post: post{path, ct, []byte(body[:i] + "\x00" + body[i:])}}
	case 4:
		return forgery{class: "genuine, replayed after the refund", receipt: true, post: post{path, ct, []byte(body)}}
	}
	var f forgery
	switch tg.gateway {
	case "ecpay":
		f = forgeECPay(t, rng, tg, body)
	case "sinopac":
		f = forgeSinoPac(t, rng, tg, body, ct == "application/json")
	default:
		f = forgeCreditCenter(t, rng, tg, body)
	}
	f.path, f.contentType = path, ct
	return f
}

func formFields(t *testing.T, body string) map[string]string {
	t.Helper()
	vals, err := url.ParseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	f := map[string]string{}
	for k, v := range vals {
		f[k] = v[0]
	}
	return f
}

// encode writes fields in the given order (url.Values sorts them).
func encode(f map[string]string, order []string) string {
	parts := make([]string, 0, len(order))
	for _, k := range order {
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(f[k]))
	}
	return strings.Join(parts, "&")
}

func sortedKeys(f map[string]string) []string { return slices.Sorted(maps.Keys(f)) }

// offByOne changes one character of s to another of alphabet.
func offByOne(rng *rand.Rand, s, alphabet string) string {
	i := rng.IntN(len(s))
	for {
		c := alphabet[rng.IntN(len(alphabet))]
		if c != s[i] && !strings.EqualFold(string(c), string(s[i])) {
			return s[:i] + string(c) + s[i+1:]
		}
	}
}

func randomKey(rng *rand.Rand, n int) string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[rng.IntN(len(alnum))]
	}
	return string(b)
}

// ECPay signs every field (CheckMacValue over the sorted, encoded
// fields: ecpay.md §2.1), so a reordered body is the same callback, not
// a forgery: it gets the receipt.
func forgeECPay(t *testing.T, rng *rand.Rand, tg target, body string) forgery {
	f := formFields(t, body)
	wrongKey := ecpay.Merchant{ID: f["MerchantID"], HashKey: secretOf(randomKey(rng, 16)), HashIV: secretOf(randomKey(rng, 16))}
	switch rng.IntN(7) {
	case 0:
		f[ecpay.MACField] = offByOne(rng, f[ecpay.MACField], "0123456789ABCDEF")
		return forgery{class: "MAC off by one", post: post{body: []byte(encode(f, sortedKeys(f)))}}
	case 1:
		keys := sortedKeys(f)
		k := keys[rng.IntN(len(keys))]
		dup := encode(f, keys) + "&" + url.QueryEscape(k) + "=" + url.QueryEscape(f[k]+"1")
		return forgery{class: "field duplicated", post: post{body: []byte(dup)}}
	case 2:
		keys := sortedKeys(f)
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		return forgery{class: "fields reordered (signed over sorted fields: genuine)", receipt: true, post: post{body: []byte(encode(f, keys))}}
	case 3:
		amt, _ := strconv.Atoi(f["TradeAmt"])
		f["TradeAmt"] = strconv.Itoa(amt + 1 + rng.IntN(1000))
		f[ecpay.MACField] = wrongKey.Sign(f)
		return forgery{class: "amount changed, signed with a wrong key", post: post{body: []byte(encode(f, sortedKeys(f)))}}
	case 4:
		other := ecpay.PublishedMerchants[1+rng.IntN(len(ecpay.PublishedMerchants)-1)]
		f["MerchantID"] = other.ID
		f[ecpay.MACField] = other.Sign(f) // a merchant's real (published) keys, not ours
		return forgery{class: "another merchant, signed with its keys", post: post{body: []byte(encode(f, sortedKeys(f)))}}
	case 5:
		f["MerchantTradeNo"] = "TW" + strings.ToUpper(randomKey(rng, 12))
		f[ecpay.MACField] = wrongKey.Sign(f)
		return forgery{class: "unknown trade", post: post{body: []byte(encode(f, sortedKeys(f)))}}
	default:
		f["MerchantTradeNo"], f["TradeAmt"] = tg.otherTrade, strconv.FormatInt(tg.otherAmount, 10)
		return forgery{class: "replayed for another order", post: post{body: []byte(encode(f, sortedKeys(f)))}}
	}
}

// SinoPac's notifications are neither signed nor encrypted (sinopac.md
// §6): twpay trusts only the bank's signed OrderPayQuery answer for the
// PayToken it reads. So field order means nothing (a reordered body is the
// genuine callback: receipt); a duplicated field is a forgery when the
// copy the parser reads is not the genuine token (the first of a form,
// the last of JSON), and nothing carries an amount or a merchant's
// signature to re-sign. "Replayed for another order" cannot be said: the
// token names the payment.
func forgeSinoPac(t *testing.T, rng *rand.Rand, tg target, body string, isJSON bool) forgery {
	var shop, token string
	if isJSON {
		shop, token = testhttpField(body, "ShopNo"), testhttpField(body, "PayToken")
	} else {
		f := formFields(t, body)
		shop, token = f["ShopNo"], f["PayToken"]
	}
	enc := func(pairs ...string) string {
		var b strings.Builder
		if isJSON {
			b.WriteString("{")
			for i := 0; i < len(pairs); i += 2 {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%q:%q", pairs[i], pairs[i+1])
			}
			b.WriteString("}")
			return b.String()
		}
		for i := 0; i < len(pairs); i += 2 {
			if i > 0 {
				b.WriteString("&")
			}
			b.WriteString(url.QueryEscape(pairs[i]) + "=" + url.QueryEscape(pairs[i+1]))
		}
		return b.String()
	}
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	switch rng.IntN(5) {
	case 0:
		return forgery{class: "PayToken off by one", post: post{body: []byte(enc("ShopNo", shop, "PayToken", offByOne(rng, token, alnum)))}}
	case 1:
		bogus := offByOne(rng, token, alnum)
		if isJSON { // encoding/json keeps the last
			return forgery{class: "field duplicated", post: post{body: []byte(enc("ShopNo", shop, "PayToken", token, "PayToken", bogus))}}
		}
		return forgery{class: "field duplicated", post: post{body: []byte(enc("ShopNo", shop, "PayToken", bogus, "PayToken", token))}}
	case 2:
		return forgery{class: "fields reordered (unsigned, confirmed with the bank: genuine)", receipt: true, post: post{body: []byte(enc("PayToken", token, "ShopNo", shop))}}
	case 3:
		return forgery{class: "another shop", post: post{body: []byte(enc("ShopNo", "NA0249_"+strconv.Itoa(100+rng.IntN(900)), "PayToken", token))}}
	default:
		return forgery{class: "unknown trade", post: post{body: []byte(enc("ShopNo", shop, "PayToken", strings.ToUpper(randomKey(rng, 64))))}}
	}
}

// testhttpField reads a top-level string member of a flat JSON object.
func testhttpField(body, name string) string {
	_, rest, _ := strings.Cut(body, `"`+name+`":"`)
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// The credit center's spcheck covers only process_time, gwsr and amount
// and is derivable from one genuine post (creditcenter.md §5a), so a
// forger re-signs with the real check code: g_recheck is what refuses
// those. Field order means nothing to it (receipt).
func forgeCreditCenter(t *testing.T, rng *rand.Rand, tg target, body string) forgery {
	cb, err := creditcenter.ParseCallback([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	derived := creditcenter.Merchant{Client: cb.Client, CheckCode: demoCreditCenter.CheckCode}
	sign := func(m creditcenter.Merchant) []byte {
		if err := m.Sign(cb); err != nil {
			t.Fatal(err)
		}
		return []byte(cb.Encode())
	}
	switch rng.IntN(9) {
	case 0:
		cb.SPCheck = spOffByOne(rng, cb.SPCheck)
		return forgery{class: "spcheck off by one", post: post{body: []byte(cb.Encode())}}
	case 1:
		f := formFields(t, body)
		keys := sortedKeys(f)
		k := keys[rng.IntN(len(keys))]
		return forgery{class: "field duplicated", post: post{body: []byte(body + "&" + url.QueryEscape(k) + "=" + url.QueryEscape(f[k]))}}
	case 2:
		f := formFields(t, body)
		keys := sortedKeys(f)
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		return forgery{class: "fields reordered (spcheck is over values: genuine)", receipt: true, post: post{body: []byte(encode(f, keys))}}
	case 3:
		cb.Amount += int64(1 + rng.IntN(1000))
		return forgery{class: "amount changed, signed with a wrong key", post: post{body: sign(creditcenter.Merchant{Client: cb.Client, CheckCode: secretOf(strconv.Itoa(10000 + rng.IntN(90000)))})}}
	case 4:
		cb.Amount += int64(1 + rng.IntN(1000))
		return forgery{class: "amount changed, signed with the derivable key", post: post{body: sign(derived)}}
	case 5:
		cb.Client = strconv.Itoa(100000 + rng.IntN(900000))
		return forgery{class: "another merchant", post: post{body: sign(creditcenter.Merchant{Client: cb.Client, CheckCode: demoCreditCenter.CheckCode})}}
	case 6:
		cb.OrderNo, cb.Gwsr = "TW"+strings.ToUpper(randomKey(rng, 12)), strconv.Itoa(100000000+rng.IntN(900000000))
		return forgery{class: "unknown trade and authorisation, signed with the derivable key", post: post{body: sign(derived)}}
	case 7:
		// g_recheck confirms the authorisation, not the order it names: a
		// genuine payment relabelled is a copy of a known payment, recorded
		// ignored and acknowledged (the gateway must stop re-sending it).
		cb.OrderNo = "TW" + strings.ToUpper(randomKey(rng, 12))
		return forgery{class: "genuine authorisation relabelled to an unknown trade (receipt)", receipt: true, ignored: true, post: post{body: sign(derived)}}
	default:
		cb.OrderNo, cb.Amount = tg.otherTrade, tg.otherAmount
		return forgery{class: "replayed for another order, signed with the derivable key", post: post{body: sign(derived)}}
	}
}

func spOffByOne(rng *rand.Rand, v int64) int64 {
	s := strconv.FormatInt(v, 10)
	s = offByOne(rng, s, "0123456789")
	n, _ := strconv.ParseInt(s, 10, 64)
	if n == v {
		n++
	}
	return n
}
