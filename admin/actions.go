package admin

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
)

// Operator actions on one order, shown in the order page's
// "admin_order_actions" panel: refund a payment (the order's own or a
// second one), settle a manual refund by hand, ask the gateway about an
// attempt now, and resolve an attempt's review. Each is confirmed first
// (confirm.go: a GET page, or its fragment in the order page's dialog)
// and posted from there with confirm=yes; it is recorded by BeginAudit
// before it runs and Finish after. What the action did comes back as a
// redirect to the order page (?done=, so a reload posts nothing again); a
// refusal is the confirmation page again with the reason, and a 4xx.

// requeryGap is the least time between two questions about one attempt an
// operator may cause: ECPay answers polling with 403 (and twpay then
// pauses every ECPay question for 30 minutes).
const requeryGap = time.Minute

// doneMessages maps ?done= to what the panel says; anything else is
// ignored. warn marks outcomes that need the operator's attention.
var doneMessages = map[string]struct {
	id   string
	warn bool
}{
	"refund_ok":         {"admin.actions.done.refund_ok", false},
	"refund_manual":     {"admin.actions.done.refund_manual", true},
	"refund_pending":    {"admin.actions.done.refund_pending", true},
	"refund_refused":    {"admin.actions.done.refund_refused", true},
	"refund_unknown":    {"admin.actions.done.refund_unknown", true},
	"marked_done":       {"admin.actions.done.marked_done", false},
	"marked_failed":     {"admin.actions.done.marked_failed", false},
	"requery_paid":      {"admin.actions.done.requery_paid", false},
	"requery_failed":    {"admin.actions.done.requery_failed", false},
	"requery_expired":   {"admin.actions.done.requery_expired", false},
	"requery_review":    {"admin.actions.done.requery_review", true},
	"requery_unchanged": {"admin.actions.done.requery_unchanged", false},
	"requery_error":     {"admin.actions.done.requery_error", true},
	"resolved":          {"admin.actions.done.resolved", false},
}

// actionsView is the panel's data.
type actionsView struct {
	Operator bool // may act (a viewer sees the refunds only)
	OrderNo  string
	Notice   string // message ID of what the last action did
	Warn     bool
	Payments []paymentView
	Refunds  []refundView
	Attempts []attemptActions
	Audit    []auditRow // the order's latest audit entries (auditlog.go)
	AuditCut bool       // it has more than shown
}

// actionRefusal is why an action was refused, and what the form held.
type actionRefusal struct {
	Status    int
	Message   string // message ID
	Amount    int64  // for messages naming an amount (what remains)
	Until     string // for a paused gateway: when it may be asked again
	Form      string // which form: "refund:<payment id>", "mark:<id>", "requery:<seq>", "resolve:<seq>"
	AmountIn  string // the refund form's amount as typed
	ReasonIn  string
	OutcomeIn string
}

// paymentView is one payment of the order that can be refunded.
type paymentView struct {
	checkout.Payment
	Seq int
	PID string // the refund form's payment field ("" for the order's own)
}

type refundView struct {
	*checkout.Refund
	CanMark bool // requested, and not in the middle of its gateway call
}

type attemptActions struct {
	Seq             int
	MerchantTradeNo string
	CanRequery      bool
	Review          string
}

const refusalKey = "twpay/admin/refusal"

// registerActions mounts the operator's actions.
func (h *Handler) registerActions(authed *gin.RouterGroup) {
	op := Operator(authed)
	op.POST("/orders/:no/refund", h.refund)
	op.POST("/orders/:no/refunds/:id", h.markRefund)
	op.POST("/orders/:no/attempts/:seq/requery", h.requery)
	op.POST("/orders/:no/attempts/:seq/resolve", h.resolveReview)
	h.registerConfirms(op)
	authed.GET("/audit", h.auditLog) // every member may read it (auditlog.go)
}

// orderAuditRows is how many audit entries the order page shows.
const orderAuditRows = 10

// orderStatus is the order page's status: 200, or a refused action's.
func orderStatus(c *gin.Context) int {
	if r, ok := c.Get(refusalKey); ok {
		return r.(*actionRefusal).Status
	}
	return http.StatusOK
}

// actionsFor builds the panel of order o (its attempts loaded).
func (h *Handler) actionsFor(c *gin.Context, o *checkout.Order) (*actionsView, error) {
	ctx := c.Request.Context()
	v := &actionsView{OrderNo: o.OrderNo}
	if id, ok := IdentityOf(c); ok {
		v.Operator = id.Role.Can(RoleOperator)
	}
	if m, ok := doneMessages[c.Query("done")]; ok {
		v.Notice, v.Warn = m.id, m.warn
	}
	refunds, err := h.Store.Refunds(ctx, o.OrderNo)
	if err != nil {
		return nil, err
	}
	for _, r := range refunds {
		// An API refund still inside its call window settles by itself.
		canMark := r.State == checkout.RefundRequested && (r.Manual || h.Now().Sub(r.CreatedAt) > checkout.RefundCallWindow)
		v.Refunds = append(v.Refunds, refundView{Refund: r, CanMark: canMark})
	}
	if v.Operator {
		if v.Payments, err = h.payments(ctx, o); err != nil {
			return nil, err
		}
	}
	entries, err := h.auditOf(ctx, o.OrderNo, orderAuditRows+1)
	if err != nil {
		return nil, err
	}
	if len(entries) > orderAuditRows {
		entries, v.AuditCut = entries[1:], true
	}
	for i := len(entries) - 1; i >= 0; i-- { // newest first, as on /audit
		v.Audit = append(v.Audit, h.auditRowOf(c, entries[i]))
	}
	for _, a := range o.Attempts {
		_, enabled := h.Registry.Adapter(a.Gateway)
		aa := attemptActions{Seq: a.Seq, MerchantTradeNo: a.MerchantTradeNo, Review: a.ReviewReason,
			CanRequery: enabled && queryable(a.Status)}
		if aa.CanRequery || aa.Review != "" {
			v.Attempts = append(v.Attempts, aa)
		}
	}
	return v, nil
}

// queryable: statuses the gateway can still tell something about
// (reconciliation asks about the same ones).
func queryable(s checkout.Status) bool {
	return s == checkout.Pending || s == checkout.AwaitingPayment || s == checkout.Expired
}

// payments lists what of the order can be refunded: its own payment, then
// second payments (another paid attempt, or a second payment id on a paid
// attempt), each with what remains of it.
func (h *Handler) payments(ctx context.Context, o *checkout.Order) ([]paymentView, error) {
	ids := []string{""}
	var seconds []string
	err := h.DB.NewRaw(`SELECT DISTINCT payment_id FROM (
		SELECT gateway_payment_id AS payment_id FROM payment_attempts WHERE order_id = ? AND status = 'paid' AND id IS DISTINCT FROM ?
		UNION SELECT payment_id FROM events WHERE order_id = ? AND verdict = 'second_payment') p
		WHERE payment_id <> '' ORDER BY payment_id`, o.ID, o.CurrentAttemptID, o.ID).Scan(ctx, &seconds)
	if err != nil {
		return nil, err
	}
	ids = append(ids, seconds...)
	seq := map[int64]int{}
	for _, a := range o.Attempts {
		seq[a.ID] = a.Seq
	}
	var out []paymentView
	for _, id := range ids {
		p, err := h.Store.Payment(ctx, o.OrderNo, id)
		if errors.Is(err, checkout.ErrNotRefundable) || errors.Is(err, checkout.ErrPaymentNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		// A "second" id that is the order's own payment is listed once.
		if p.Refundable() <= 0 || (id != "" && !p.Duplicate) {
			continue
		}
		pv := paymentView{Payment: p, Seq: seq[p.AttemptID]}
		if p.Duplicate {
			pv.PID = p.PaymentID
		}
		out = append(out, pv)
	}
	return out, nil
}

// refundKey is a fresh idempotency key for one refund form: a double
// click, a re-sent post or two tabs with one form refund once.
func refundKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "admin-" + base64.RawURLEncoding.EncodeToString(b), nil
}

var refundKeyPattern = regexp.MustCompile(`^admin-[A-Za-z0-9_-]{22}$`)

// begin starts an action's audit; false when it could not be written
// (then the action must not run, and the answer was given).
func (h *Handler) begin(c *gin.Context, action, target string) (*Audit, bool) {
	a, err := h.BeginAudit(c, action, c.Param("no"), target)
	if err != nil {
		h.failInternal(c, "audit "+action, "err", err)
		return nil, false
	}
	return a, true
}

// refuse finishes the audit as refused (detail: the message ID, then
// ours) and shows the form's confirmation page again with why.
func (h *Handler) refuse(c *gin.Context, a *Audit, r *actionRefusal, detail string) {
	_ = a.Finish(c.Request.Context(), AuditRefused, r.Message+": "+detail)
	if r.Status == http.StatusNotFound && r.Message == "admin.error.order_not_found" {
		h.fail(c, r.Status, r.Message)
		return
	}
	h.showConfirm(c, r)
}

// notConfirmed refuses a post that did not come from a confirmation
// page's button (422; nothing is done), true when it did so.
func (h *Handler) notConfirmed(c *gin.Context, a *Audit, r *actionRefusal) bool {
	if c.PostForm("confirm") == "yes" {
		return false
	}
	r.Status, r.Message = http.StatusUnprocessableEntity, "admin.actions.error.confirm"
	h.refuse(c, a, r, "not confirmed")
	return true
}

// done finishes the audit (detail: the outcome's message ID, then ours)
// and sends the operator back to the order.
func (h *Handler) done(c *gin.Context, a *Audit, result AuditResult, detail, code string) {
	_ = a.Finish(c.Request.Context(), result, doneMessages[code].id+": "+detail)
	c.Redirect(http.StatusSeeOther, h.URL("/orders/"+c.Param("no"))+"?done="+code+"#actions")
}

// actionFailed is our own failure during an action: the audit row and the
// log line carry the same error ID, the page shows only that.
func (h *Handler) actionFailed(c *gin.Context, a *Audit, what string, details ...any) {
	id := web.NewErrorID()
	_ = a.Finish(c.Request.Context(), AuditError, id)
	h.Log.Error("admin: "+what, append([]any{"error_id", id, "path", c.Request.URL.Path}, details...)...)
	h.Render.Render(c, http.StatusInternalServerError, "admin_error", h.page(c, "", errorView{Message: "error.internal", ErrorID: id, Status: 500}))
}

// validText: at most max characters of text, no NUL.
func validText(s string, max int) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0) && utf8.RuneCountInString(s) <= max
}

// refund: POST /orders/:no/refund (payment, amount: integer TWD or empty
// for all that remains, reason, confirm=yes, key).
func (h *Handler) refund(c *gin.Context) {
	pid := strings.TrimSpace(c.PostForm("payment"))
	target := "payment:" + pid
	if pid == "" {
		target = "payment:own"
	}
	audit, ok := h.begin(c, "refund", target)
	if !ok {
		return
	}
	no := c.Param("no")
	amountIn, reason := strings.TrimSpace(c.PostForm("amount")), strings.TrimSpace(c.PostForm("reason"))
	r := &actionRefusal{Status: http.StatusBadRequest, Form: "refund:" + pid, AmountIn: amountIn, ReasonIn: reason}
	refuse := func(status int, msg, detail string) {
		r.Status, r.Message = status, msg
		h.refuse(c, audit, r, detail)
	}
	if !orderNoPattern.MatchString(no) {
		refuse(http.StatusNotFound, "admin.error.order_not_found", "no such order")
		return
	}
	if h.notConfirmed(c, audit, r) {
		return
	}
	var amount int64
	if amountIn != "" {
		n, err := strconv.ParseInt(strings.ReplaceAll(amountIn, ",", ""), 10, 64)
		if err != nil || n <= 0 || n > checkout.MaxAmount {
			refuse(http.StatusBadRequest, "admin.actions.error.amount", "amount "+strconv.Quote(cut(amountIn, 40)))
			return
		}
		amount = n
	}
	switch key := c.PostForm("key"); {
	case reason == "" || !validText(reason, 1000):
		refuse(http.StatusBadRequest, "admin.actions.error.reason", "no reason, or too long")
	case !refundKeyPattern.MatchString(key) || !oneLineID(pid):
		refuse(http.StatusBadRequest, "admin.actions.error.stale_form", "bad idempotency key or payment id")
	default:
		id, _ := IdentityOf(c)
		req := checkout.RefundRequest{OrderNo: no, Amount: amount, Reason: reason, By: id.Email, IdempotencyKey: key, PaymentID: pid}
		ref, err := pay.Refund(c.Request.Context(), h.Store, h.Registry, req, h.Now())
		h.refunded(c, audit, r, ref, err)
	}
}

func oneLineID(s string) bool {
	return len(s) <= 200 && !strings.ContainsAny(s, "\x00\r\n") && utf8.ValidString(s)
}

// refunded answers what pay.Refund did.
func (h *Handler) refunded(c *gin.Context, audit *Audit, r *actionRefusal, ref *checkout.Refund, err error) {
	refuse := func(status int, msg string) {
		r.Status, r.Message = status, msg
		h.refuse(c, audit, r, err.Error())
	}
	if ref != nil {
		detail := fmt.Sprintf("refund %d: %s, %d TWD", ref.ID, ref.State, ref.Amount)
		if err != nil {
			detail += ": " + err.Error()
		}
		switch {
		case errors.Is(err, pay.ErrRefundRefused):
			h.done(c, audit, AuditFailed, detail, "refund_refused")
		case errors.Is(err, pay.ErrRefundUnknown):
			h.done(c, audit, AuditFailed, detail, "refund_unknown")
		case err != nil:
			h.actionFailed(c, audit, "refund", "refund_id", ref.ID, "err", err)
		case ref.State == checkout.RefundSucceeded:
			h.done(c, audit, AuditOK, detail, "refund_ok")
		case ref.State == checkout.RefundFailed:
			h.done(c, audit, AuditFailed, detail, "refund_refused") // a replay of a refused one
		case ref.Manual:
			h.done(c, audit, AuditOK, detail, "refund_manual")
		default:
			h.done(c, audit, AuditOK, detail, "refund_pending") // a replay while its call runs
		}
		return
	}
	switch {
	case errors.Is(err, checkout.ErrOrderNotFound):
		refuse(http.StatusNotFound, "admin.error.order_not_found")
	case errors.Is(err, checkout.ErrRefundExceeds):
		if p, perr := h.Store.Payment(c.Request.Context(), c.Param("no"), c.PostForm("payment")); perr == nil {
			r.Amount = p.Refundable()
		}
		refuse(http.StatusUnprocessableEntity, "admin.actions.error.exceeds")
	case errors.Is(err, checkout.ErrNotRefundable):
		refuse(http.StatusConflict, "admin.actions.error.not_refundable")
	case errors.Is(err, checkout.ErrPaymentNotFound):
		refuse(http.StatusConflict, "admin.actions.error.no_payment")
	case errors.Is(err, checkout.ErrRefundKeyReused), errors.Is(err, checkout.ErrRefundNoKey):
		refuse(http.StatusConflict, "admin.actions.error.stale_form")
	case errors.Is(err, checkout.ErrInvalidRefund):
		refuse(http.StatusBadRequest, "admin.actions.error.reason")
	case errors.Is(err, pay.ErrRefundNotNow):
		refuse(http.StatusConflict, "admin.actions.error.not_now")
	case errors.Is(err, pay.ErrRefundUnsupported):
		refuse(http.StatusConflict, "admin.actions.error.unsupported")
	default:
		h.actionFailed(c, audit, "refund", "err", err)
	}
}

// markRefund: POST /orders/:no/refunds/:id (outcome done or failed, why):
// a human settles a manual refund.
func (h *Handler) markRefund(c *gin.Context) {
	audit, ok := h.begin(c, "refund.mark", "refund:"+cut(c.Param("id"), 20))
	if !ok {
		return
	}
	ctx := c.Request.Context()
	outcome, why := c.PostForm("outcome"), strings.TrimSpace(c.PostForm("why"))
	r := &actionRefusal{Status: http.StatusBadRequest, Form: "mark:" + c.Param("id"), ReasonIn: why, OutcomeIn: outcome}
	refuse := func(status int, msg, detail string) {
		r.Status, r.Message = status, msg
		h.refuse(c, audit, r, detail)
	}
	ref, err := h.refundOf(ctx, c.Param("no"), c.Param("id"))
	if errors.Is(err, checkout.ErrRefundNotFound) {
		refuse(http.StatusNotFound, "admin.actions.error.refund_not_found", "no such refund on this order")
		return
	}
	if err != nil {
		h.actionFailed(c, audit, "load refund", "err", err)
		return
	}
	if h.notConfirmed(c, audit, r) {
		return
	}
	id := ref.ID
	switch {
	case outcome != "done" && outcome != "failed":
		refuse(http.StatusBadRequest, "admin.actions.error.outcome", "outcome "+strconv.Quote(cut(outcome, 20)))
		return
	case outcome == "failed" && why == "", !validText(why, 1000):
		refuse(http.StatusBadRequest, "admin.actions.error.why", "no why, or too long")
		return
	}
	who, _ := IdentityOf(c)
	ref, err = h.Store.MarkRefund(ctx, id, outcome == "done", who.Email, why)
	switch {
	case errors.Is(err, checkout.ErrRefundInFlight):
		refuse(http.StatusConflict, "admin.actions.error.in_flight", err.Error())
	case errors.Is(err, checkout.ErrRefundSettled):
		refuse(http.StatusConflict, "admin.actions.error.settled", err.Error())
	case errors.Is(err, checkout.ErrInvalidRefund):
		refuse(http.StatusBadRequest, "admin.actions.error.why", err.Error())
	case err != nil:
		h.actionFailed(c, audit, "mark refund", "refund_id", id, "err", err)
	default:
		h.done(c, audit, AuditOK, fmt.Sprintf("refund %d marked %s", ref.ID, ref.State), "marked_"+outcome)
	}
}

// attemptOf loads the order's attempt seq (param :seq).
// actionAttempt loads the attempt an action names; when it cannot, it has
// answered (a localized 404, or our error) and finished the audit row.
func (h *Handler) actionAttempt(c *gin.Context, audit *Audit, r *actionRefusal) (*checkout.Attempt, bool) {
	a, err := h.attemptOf(c)
	if errors.Is(err, sql.ErrNoRows) {
		r.Status, r.Message = http.StatusNotFound, "admin.actions.error.attempt_not_found"
		h.refuse(c, audit, r, "no such attempt")
		return nil, false
	}
	if err != nil {
		h.actionFailed(c, audit, "load attempt", "err", err)
		return nil, false
	}
	return a, true
}

func (h *Handler) attemptOf(c *gin.Context) (*checkout.Attempt, error) {
	return h.attemptBySeq(c.Request.Context(), c.Param("no"), c.Param("seq"))
}

// requery: POST /orders/:no/attempts/:seq/requery asks the attempt's
// gateway about it now, exactly as reconciliation does (the same
// ReconcileAttempt: a payment found is applied, a deadline passed
// expires, an answer twpay must not guess about goes to review).
func (h *Handler) requery(c *gin.Context) {
	audit, ok := h.begin(c, "requery", "attempt:"+cut(c.Param("seq"), 10))
	if !ok {
		return
	}
	ctx := c.Request.Context()
	r := &actionRefusal{Form: "requery:" + c.Param("seq")}
	refuse := func(status int, msg, detail string) {
		r.Status, r.Message = status, msg
		h.refuse(c, audit, r, detail)
	}
	a, ok := h.actionAttempt(c, audit, r)
	if !ok {
		return
	}
	if h.notConfirmed(c, audit, r) {
		return
	}
	block, why, err := h.requeryBlock(ctx, a)
	if err != nil {
		h.actionFailed(c, audit, "requery block", "err", err)
		return
	}
	if block != nil {
		r.Until = block.Until
		refuse(block.Status, block.Message, why)
		return
	}
	ad, _ := h.Registry.Adapter(a.Gateway)
	if err := h.Store.AskNow(ctx, a.ID); err != nil {
		h.actionFailed(c, audit, "ask now", "err", err)
		return
	}
	rep, qerr, err := pay.ReconcileAttempt(ctx, h.Store, ad, a.ID)
	if err != nil {
		h.actionFailed(c, audit, "requery", "attempt_id", a.ID, "err", err)
		return
	}
	detail := fmt.Sprintf("%+v", rep)
	switch {
	case qerr != nil:
		h.done(c, audit, AuditFailed, detail+": "+qerr.Error(), "requery_error")
	case rep.Paid > 0:
		h.done(c, audit, AuditOK, detail, "requery_paid")
	case rep.Failed > 0:
		h.done(c, audit, AuditOK, detail, "requery_failed")
	case rep.Expired > 0:
		h.done(c, audit, AuditOK, detail, "requery_expired")
	case rep.Review > 0:
		h.done(c, audit, AuditOK, detail, "requery_review")
	default:
		h.done(c, audit, AuditOK, detail, "requery_unchanged")
	}
}

// resolveReview: POST /orders/:no/attempts/:seq/resolve (note): a person
// looked at what the gateway said; reconciliation asks again from now.
func (h *Handler) resolveReview(c *gin.Context) {
	audit, ok := h.begin(c, "review.resolve", "attempt:"+cut(c.Param("seq"), 10))
	if !ok {
		return
	}
	ctx := c.Request.Context()
	note := strings.TrimSpace(c.PostForm("note"))
	r := &actionRefusal{Form: "resolve:" + c.Param("seq"), ReasonIn: note}
	refuse := func(status int, msg, detail string) {
		r.Status, r.Message = status, msg
		h.refuse(c, audit, r, detail)
	}
	a, ok := h.actionAttempt(c, audit, r)
	if !ok {
		return
	}
	if h.notConfirmed(c, audit, r) {
		return
	}
	if note == "" || !validText(note, 1000) {
		refuse(http.StatusBadRequest, "admin.actions.error.note", "no note, or too long")
		return
	}
	who, _ := IdentityOf(c)
	reason, err := h.Store.ResolveReview(ctx, a.ID, who.Email, note)
	switch {
	case errors.Is(err, checkout.ErrNotInReview):
		refuse(http.StatusConflict, "admin.actions.error.not_in_review", err.Error())
	case errors.Is(err, checkout.ErrInvalidResolution):
		refuse(http.StatusBadRequest, "admin.actions.error.note", err.Error())
	case err != nil:
		h.actionFailed(c, audit, "resolve review", "attempt_id", a.ID, "err", err)
	default:
		h.done(c, audit, AuditOK, "cleared: "+reason, "resolved")
	}
}
