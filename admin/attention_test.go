package admin_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/tests/testhttp"
)

// notify posts a signed ECPay payment notification for trade (amount,
// payment id TradeNo) and wants it acknowledged.
func notify(t *testing.T, e *env, trade string, amount int64, tradeNo string) {
	t.Helper()
	f := map[string]string{
		"MerchantID": ecpay.StageMerchant.ID, "MerchantTradeNo": trade, "StoreID": "", "RtnCode": "1",
		"RtnMsg": "交易成功", "TradeNo": tradeNo, "TradeAmt": strconv.FormatInt(amount, 10),
		"PaymentDate": "2026/12/03 12:00:00", "PaymentType": "Credit_CreditCard", "PaymentTypeChargeFee": "45",
		"TradeDate": "2026/12/03 11:59:00", "SimulatePaid": "0", "CustomField1": "", "card4no": "2222", "card6no": "431195",
	}
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	v.Set(ecpay.MACField, ecpay.StageMerchant.Sign(f))
	if code, body := testhttp.PostForm(t, e.srv.URL+"/payments/ecpay/notify", v.Encode()); code != 200 || body != "1|OK" {
		t.Fatalf("notify %s: %d %s", trade, code, body)
	}
}

// attemptOrder is a host order with one ECPay attempt started.
func attemptOrder(t *testing.T, e *env, amount int64) (*checkout.Order, *checkout.Attempt) {
	t.Helper()
	o, _, err := e.plugin.CreateOrder(ctx, plugin.OrderRequest{Amount: amount, Description: "茶葉禮盒", Lang: "zh-TW", ReturnURL: "/cart"})
	if err != nil {
		t.Fatal(err)
	}
	_, a, err := e.plugin.Store().NewAttempt(ctx, o.OrderNo, e.plugin.Methods()[0].Spec())
	if err != nil {
		t.Fatal(err)
	}
	return o, a
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.db.NewRaw(q, args...).Exec(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// attentionFixture writes one (or more) row of every section, each the
// way twpay itself makes it where it can: callbacks through the HTTP
// endpoint, the store's own calls; direct rows where nothing else writes
// them (a River dead letter, an order's age).
type attentionFixture struct {
	unknownTrade   string            // unmatched: a trade twpay never made
	mismatchOrder  *checkout.Order   // unmatched: its amount was wrong
	dupOrder       *checkout.Order   // a second payment, not refunded
	refundedDup    *checkout.Order   // a second payment refunded in full (by a manual refund waiting)
	unknown, rev   *checkout.Attempt // start unknown; under review
	unknownOrder   *checkout.Order
	reviewOrder    *checkout.Order
	stuck          map[string]bool // order number -> should be listed as stuck
	jobID          int64
	refundID       int64
	manualRefundNo string
}

func newAttentionFixture(t *testing.T, e *env) *attentionFixture {
	f := &attentionFixture{unknownTrade: "NOSUCHTRADE0001", stuck: map[string]bool{}}
	notify(t, e, f.unknownTrade, 777, "2612030000000001")

	var a *checkout.Attempt
	f.mismatchOrder, a = attemptOrder(t, e, 1500)
	notify(t, e, a.MerchantTradeNo, 1499, "2612030000000002")

	f.dupOrder, a = attemptOrder(t, e, 1200)
	notify(t, e, a.MerchantTradeNo, 1200, "2612030000000003")
	notify(t, e, a.MerchantTradeNo, 1200, "2612030000000004") // a second payment

	f.refundedDup, a = attemptOrder(t, e, 800)
	notify(t, e, a.MerchantTradeNo, 800, "2612030000000005")
	notify(t, e, a.MerchantTradeNo, 800, "2612030000000006")
	p, err := e.plugin.Store().Payment(ctx, f.refundedDup.OrderNo, "2612030000000006")
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := e.plugin.Store().RequestRefund(ctx, checkout.RefundRequest{OrderNo: f.refundedDup.OrderNo, By: "test", IdempotencyKey: "dup-6",
		PaymentID: "2612030000000006"}, p.Amount, p, checkout.RefundPlan{Manual: true, Instructions: "refund.manual.generic"})
	if err != nil {
		t.Fatal(err)
	}
	f.refundID, f.manualRefundNo = r.ID, f.refundedDup.OrderNo

	f.unknownOrder, f.unknown = attemptOrder(t, e, 3000)
	if err := e.plugin.Store().StartUnknown(ctx, f.unknown.ID); err != nil {
		t.Fatal(err)
	}
	f.reviewOrder, f.rev = attemptOrder(t, e, 4500)
	if err := e.plugin.Store().Review(ctx, f.rev.ID, "RtnCode 10200095: unconfirmed"); err != nil {
		t.Fatal(err)
	}
	e.exec("UPDATE payment_attempts SET start_state = 'started' WHERE id = ?", f.rev.ID)

	// Stuck or not: the order's age against the 24 h threshold, and a
	// code's deadline (stuck only an hour past it).
	for _, tc := range []struct {
		age      time.Duration
		payUntil time.Duration // from now; 0: none
		stuck    bool
	}{
		{48 * time.Hour, 0, true},
		{23 * time.Hour, 0, false},
		{72 * time.Hour, 24 * time.Hour, false},    // an ATM account payable until tomorrow
		{72 * time.Hour, -30 * time.Minute, false}, // its deadline just passed: the expiry is on its way
		{72 * time.Hour, -2 * time.Hour, true},     // long past it
		{2 * time.Hour, -90 * time.Minute, false},  // young: the threshold still applies
	} {
		o, a := attemptOrder(t, e, 6800)
		e.exec("UPDATE payment_attempts SET start_state = 'started' WHERE id = ?", a.ID)
		e.exec("UPDATE orders SET created_at = now() - make_interval(secs => ?) WHERE id = ?", tc.age.Seconds(), o.ID)
		if tc.payUntil != 0 {
			e.exec("UPDATE payment_attempts SET status = 'awaiting_payment', pay_until = now() + make_interval(secs => ?) WHERE id = ?", tc.payUntil.Seconds(), a.ID)
			e.exec("UPDATE orders SET status = 'awaiting_payment' WHERE id = ?", o.ID)
		}
		f.stuck[o.OrderNo] = tc.stuck
	}
	// A confirmation mail out of attempts: River's own row, as its
	// executor leaves a job it discards.
	if err := e.db.NewRaw(`INSERT INTO river_job (args, kind, max_attempts, attempt, state, finalized_at, errors, queue, attempted_at)
		VALUES (?::jsonb, 'twpay.confirmation_mail', 3, 3, 'discarded', now(), ARRAY[?::jsonb, ?::jsonb], 'twpay_mail', now()) RETURNING id`,
		`{"order_no":"`+f.dupOrder.OrderNo+`","event_id":1}`, `{"at":"2026-12-03T04:00:00Z","attempt":2,"error":"smtp: 421 try later"}`,
		`{"at":"2026-12-03T04:05:00Z","attempt":3,"error":"smtp: 554 <relay> refused"}`).Scan(ctx, &f.jobID); err != nil {
		t.Fatal(err)
	}
	return f
}

// counts reads the page's section counts.
func attentionCounts(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`data-kind="([a-z_]+)">[^<]*<span class="count">([^<]+)</span>`).FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	if len(out) != 7 {
		t.Fatalf("counts: %v", out)
	}
	return out
}

func rowsOf(body, kind string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`data-row="`+kind+`-([^"]+)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// rawID finds a message ID shown instead of its words.
var rawID = regexp.MustCompile(`>[^<]*\b(admin|method|status|refund|reason)\.[a-z_]+[^<]*<`)

// Every section lists its rows with the link or form that resolves them;
// the counts match; a viewer sees no action.
func TestAttentionSections(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("op@shop.tw", admin.RoleOperator)
	e.user("v@shop.tw", admin.RoleViewer)
	f := newAttentionFixture(t, e)
	op := e.client()
	op.mustLogin("op@shop.tw")

	page := op.get("/admin/attention?lang=en")
	if page.status != http.StatusOK {
		t.Fatalf("%d\n%s", page.status, page.body)
	}
	var events []int64
	if err := e.db.NewRaw("SELECT id FROM events WHERE verdict = 'unmatched' ORDER BY id").Scan(ctx, &events); err != nil || len(events) != 2 {
		t.Fatalf("unmatched events: %v %v", events, err)
	}
	var stuck []string
	for no, s := range f.stuck {
		if s {
			stuck = append(stuck, no)
		}
	}
	want := map[string][]string{
		"unmatched":     {strconv.FormatInt(events[1], 10), strconv.FormatInt(events[0], 10)}, // newest first
		"duplicate":     {f.dupOrder.OrderNo + "-2612030000000004"},
		"start_unknown": {strconv.FormatInt(f.unknown.ID, 10)},
		"review":        {strconv.FormatInt(f.rev.ID, 10)},
		"manual_refund": {strconv.FormatInt(f.refundID, 10)},
		"discarded":     {strconv.FormatInt(f.jobID, 10)},
	}
	counts := attentionCounts(t, page.body)
	for kind, rows := range want {
		if got := rowsOf(page.body, kind); strings.Join(got, ",") != strings.Join(rows, ",") {
			t.Errorf("%s: rows %v, want %v", kind, got, rows)
		}
		if counts[kind] != strconv.Itoa(len(rows)) {
			t.Errorf("%s: count %s, want %d", kind, counts[kind], len(rows))
		}
	}
	gotStuck := map[string]bool{}
	for _, no := range rowsOf(page.body, "stuck") {
		gotStuck[no] = true
	}
	for no, s := range f.stuck {
		if gotStuck[no] != s {
			t.Errorf("stuck %s: listed %v, want %v", no, gotStuck[no], s)
		}
	}
	if counts["stuck"] != strconv.Itoa(len(stuck)) || len(gotStuck) != len(stuck) {
		t.Errorf("stuck: count %s, listed %d, want %d", counts["stuck"], len(gotStuck), len(stuck))
	}
	// What remains of the duplicate is what the refund code would refund.
	p, err := e.plugin.Store().Payment(ctx, f.dupOrder.OrderNo, "2612030000000004")
	if err != nil || p.Refundable() != 1200 {
		t.Fatalf("payment: %+v %v", p, err)
	}
	for _, s := range []string{
		// links to the order and the action that resolves each row
		`href="/admin/orders/` + f.dupOrder.OrderNo + `/refund?payment=2612030000000004"`,
		`href="/admin/orders/` + f.unknownOrder.OrderNo + `/requery?seq=1"`,
		`href="/admin/orders/` + f.reviewOrder.OrderNo + `/requery?seq=1"`,
		`href="/admin/orders/` + f.manualRefundNo + `/refunds/` + strconv.FormatInt(f.refundID, 10) + `/mark"`,
		`href="/admin/jobs/` + strconv.FormatInt(f.jobID, 10) + `/retry"`,
		`href="/admin/orders/` + f.mismatchOrder.OrderNo + `"`,
		`<input type="hidden" name="kind" value="unmatched"><input type="hidden" name="key" value="` + strconv.FormatInt(events[0], 10) + `">`,
		`href="/admin/orders/` + f.reviewOrder.OrderNo + `/attempts/1/resolve"`,
		// what each row says
		f.unknownTrade, "NT$777", "NT$1,499", "2612030000000001", "no order known", "NT$1,200", "RtnCode 10200095: unconfirmed",
		"smtp: 554 &lt;relay&gt; refused", "twpay.confirmation_mail", "3 / 3", "refund the payment in the gateway",
	} {
		if !page.has(s) {
			t.Errorf("the operator's page lacks %s", s)
		}
	}
	if page.has("smtp: 421") { // only the last error shows
		t.Error("the page shows an older error")
	}
	if rows := rowsOf(page.body, "duplicate"); strings.Contains(strings.Join(rows, ","), f.refundedDup.OrderNo) {
		t.Error("a duplicate refunded in full is still listed")
	}

	// The viewer reads the same rows, without actions.
	v := e.client()
	v.mustLogin("v@shop.tw")
	vp := v.get("/admin/attention?lang=en")
	if vp.status != 200 || vp.has("/attention/resolve") || vp.has("/retry") || vp.has("/requery") || !vp.has(f.unknownTrade) {
		t.Errorf("viewer's page: %d, actions shown or rows missing", vp.status)
	}
	// Both languages, no raw message IDs, no script needed (plain links and forms).
	for _, lang := range []string{"en", "zh-TW"} {
		body := op.get("/admin/attention?lang=" + lang).body
		if m := rawID.FindString(body); m != "" {
			t.Errorf("%s: raw message ID %s", lang, m)
		}
	}
	if zh := op.get("/admin/attention?lang=zh-TW"); !zh.has("無法對應的付款") || !zh.has("失敗的背景工作") {
		t.Error("zh-TW page lacks its headings")
	}
}

// Resolving takes the row off with the note, in the audit log and the
// resolutions; retrying puts the dead letter back in River's queue. The
// viewer may do neither.
func TestAttentionActions(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("op@shop.tw", admin.RoleOperator)
	e.user("v@shop.tw", admin.RoleViewer)
	f := newAttentionFixture(t, e)
	var eventID int64
	if err := e.db.NewRaw("SELECT id FROM events WHERE verdict = 'unmatched' AND order_id IS NULL").Scan(ctx, &eventID); err != nil {
		t.Fatal(err)
	}
	job := strconv.FormatInt(f.jobID, 10)

	v := e.client()
	v.mustLogin("v@shop.tw")
	token := csrf(t, v.get("/admin/attention").body)
	for _, r := range []struct{ method, path string }{
		{"POST", "/admin/attention/resolve"}, {"GET", "/admin/jobs/" + job + "/retry"}, {"POST", "/admin/jobs/" + job + "/retry"},
	} {
		var form url.Values
		if r.method == "POST" {
			form = url.Values{"csrf_token": {token}, "kind": {"unmatched"}, "key": {strconv.FormatInt(eventID, 10)}, "note": {"x"}}
		}
		if a := v.do(r.method, r.path, form, nil); a.status != http.StatusForbidden {
			t.Errorf("viewer %s %s: %d", r.method, r.path, a.status)
		}
	}

	op := e.client()
	op.mustLogin("op@shop.tw")
	page := op.get("/admin/attention?lang=en")
	token = csrf(t, page.body)
	resolve := func(kind string, key int64, note string) answer {
		return op.do("POST", "/admin/attention/resolve?lang=en", url.Values{"csrf_token": {token}, "kind": {kind},
			"key": {strconv.FormatInt(key, 10)}, "note": {note}}, nil)
	}
	for _, tc := range []struct {
		name, kind string
		key        int64
		note       string
		status     int
		says       string
	}{
		{"no note", "unmatched", eventID, "  ", 400, "Write what you did"},
		{"unknown kind", "stuck", eventID, "x", 400, "That row does not exist"},
		{"not unmatched", "unmatched", eventID + 1000, "x", 404, "no longer needs a human"},
		{"a review is resolved on its order", "review", f.rev.ID, "x", 400, "That row does not exist"},
		{"too long", "unmatched", eventID, strings.Repeat("長", 1001), 400, "at most 1,000"},
	} {
		if a := resolve(tc.kind, tc.key, tc.note); a.status != tc.status || !a.has(tc.says) {
			t.Errorf("%s: %d\n%s", tc.name, a.status, a.body)
		}
	}
	var audits int
	e.db.NewRaw("SELECT count(*) FROM admin_audit").Scan(ctx, &audits)
	if audits != 0 {
		t.Errorf("refused input was audited: %d rows", audits)
	}

	for _, r := range []struct {
		kind string
		key  int64
		no   string
	}{{"unmatched", eventID, ""}} {
		a := resolve(r.kind, r.key, "已電話退款 refunded by phone")
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/admin/attention?done=resolved#"+r.kind {
			t.Fatalf("resolve %s: %d %q\n%s", r.kind, a.status, a.header.Get("Location"), a.body)
		}
		var res struct {
			Note       string `bun:"note"`
			ResolvedBy string `bun:"resolved_by"`
			Action     string `bun:"action"`
			Result     string `bun:"result"`
			OrderNo    string `bun:"order_no"`
			Target     string `bun:"target"`
			Req        string `bun:"req"`
		}
		if err := e.db.NewRaw(`SELECT r.note, r.resolved_by, a.action, a.result, a.order_no, a.target, a.request->>'note' AS req
			FROM attention_resolutions r JOIN admin_audit a ON a.id = r.audit_id WHERE r.kind = ? AND r.key = ?`, r.kind, strconv.FormatInt(r.key, 10)).Scan(ctx, &res); err != nil {
			t.Fatal(err)
		}
		if res.Note != "已電話退款 refunded by phone" || res.ResolvedBy != "op@shop.tw" || res.Action != "attention.resolve" || res.Result != "ok" ||
			res.OrderNo != r.no || res.Target != r.kind+":"+strconv.FormatInt(r.key, 10) || res.Req != res.Note {
			t.Errorf("resolution %s: %+v", r.kind, res)
		}
		if again := resolve(r.kind, r.key, "twice"); again.status != http.StatusConflict || !again.has("already resolved") {
			t.Errorf("resolve %s again: %d", r.kind, again.status)
		}
	}
	// A review is resolved on its order (actions.go), which clears it and
	// resumes the attempt's reconciliation.
	if rv := op.do("POST", "/admin/orders/"+f.reviewOrder.OrderNo+"/attempts/1/resolve?lang=en", url.Values{"csrf_token": {token},
		"confirm": {"yes"}, "note": {"checked with the gateway: not paid"}}, nil); rv.status != http.StatusSeeOther {
		t.Fatalf("resolve the review: %d\n%s", rv.status, rv.body)
	}
	after := op.get("/admin/attention?lang=en&done=resolved")
	if !after.has("Marked resolved") || len(rowsOf(after.body, "unmatched")) != 1 || len(rowsOf(after.body, "review")) != 0 {
		t.Errorf("after resolving: unmatched %v review %v", rowsOf(after.body, "unmatched"), rowsOf(after.body, "review"))
	}
	if c := attentionCounts(t, after.body); c["unmatched"] != "1" || c["review"] != "0" {
		t.Errorf("counts after resolving: %v", c)
	}

	// Retry: a confirmation page (a plain form), then River's retry.
	confirm := op.get("/admin/jobs/" + job + "/retry?lang=en")
	fs := forms(t, confirm.body)
	if confirm.status != 200 || !confirm.has("smtp: 554") || len(fs) < 2 || fs[len(fs)-1].Action != "http://x/admin/jobs/"+job+"/retry" {
		t.Fatalf("confirm page: %d %+v\n%s", confirm.status, fs, confirm.body)
	}
	a := op.do("POST", "/admin/jobs/"+job+"/retry", url.Values{"csrf_token": {token}}, nil)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/admin/attention?done=retried#discarded" {
		t.Fatalf("retry: %d %q\n%s", a.status, a.header.Get("Location"), a.body)
	}
	var state string
	var maxAttempts int
	e.db.NewRaw("SELECT state, max_attempts FROM river_job WHERE id = ?", f.jobID).Scan(ctx, &state, &maxAttempts)
	if state != "available" || maxAttempts != 4 {
		t.Errorf("retried job: %s, max attempts %d", state, maxAttempts)
	}
	if rows := rowsOf(op.get("/admin/attention").body, "discarded"); len(rows) != 0 {
		t.Errorf("retried job still listed: %v", rows)
	}
	// Not discarded any more: refused, on the page and on a second post (audited).
	if again := op.get("/admin/jobs/" + job + "/retry?lang=en"); again.status != http.StatusConflict || !again.has("not set aside any more") {
		t.Errorf("confirm again: %d", again.status)
	}
	if again := op.do("POST", "/admin/jobs/"+job+"/retry?lang=en", url.Values{"csrf_token": {token}}, nil); again.status != http.StatusConflict {
		t.Errorf("retry again: %d", again.status)
	}
	if gone := op.get("/admin/jobs/99999999/retry?lang=en"); gone.status != http.StatusNotFound || !gone.has("no such background job") {
		t.Errorf("no such job: %d", gone.status)
	}
	var results []string
	e.db.NewRaw("SELECT result || ' ' || order_no FROM admin_audit WHERE action = 'job.retry' ORDER BY id").Scan(ctx, &results)
	if strings.Join(results, ",") != "ok "+f.dupOrder.OrderNo+",refused "+f.dupOrder.OrderNo {
		t.Errorf("retry audit: %v", results)
	}
}
