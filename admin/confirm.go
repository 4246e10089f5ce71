package admin

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
)

// Confirmation pages: every operator action is a GET page first (what
// will be done, and the form), then a POST from that page's confirm
// button. Without JavaScript the order page's action links open these as
// full pages; with htmx the same template's fragment is loaded into the
// order page's <dialog> (static/admin.js opens it). A refused POST shows
// its confirmation page again, with why and what was typed.
//
//	GET /orders/:no/refund[?payment=&amount=]        -> POST /orders/:no/refund
//	GET /orders/:no/requery[?seq=]                   -> POST /orders/:no/attempts/:seq/requery
//	GET /orders/:no/refunds/:id/mark[?outcome=]      -> POST /orders/:no/refunds/:id
//	GET /orders/:no/attempts/:seq/resolve            -> POST /orders/:no/attempts/:seq/resolve

// confirmView is one confirmation page (template "admin_confirm").
type confirmView struct {
	Kind     string // refund, requery, mark, resolve
	OrderNo  string
	OrderURL string
	Action   string // where the confirm button posts
	Dialog   bool   // rendered into the order page's <dialog>
	Refused  *actionRefusal
	// Blocked: the order's state forbids the action now (message ID); the
	// page says why and offers no confirm button.
	Blocked string
	Until   string // for a paused gateway
	Refund  *refundConfirm
	Attempt *checkout.Attempt
	Mark    *checkout.Refund
	Outcome string // the settle form's outcome as chosen
	Text    string // the form's free text (reason, why, note) as typed
}

// refundConfirm is the refund form's payment and the gateway's plans.
type refundConfirm struct {
	Payment   checkout.Payment
	PaymentIn string // the form's payment field: "" for the order's own
	Key       string
	AmountIn  string
	Plans     []planLine
}

// planLine is how the gateway would refund all that remains (Full) or
// part of it, as its adapter plans it now; Refusal is why it cannot.
type planLine struct {
	Full         bool
	Amount       int64 // 0: the amount typed (a part)
	Manual       bool
	Instructions string // message ID
	Actions      []planAction
	Refusal      string // message ID
}

// planAction is one gateway call of a plan: its code and, when known,
// the message ID naming it.
type planAction struct{ Code, Label string }

// planLabels name the gateways' refund actions (any other code is shown
// as it is).
var planLabels = map[string]string{
	"ecpay:R": "admin.plan.ecpay.R", "ecpay:E": "admin.plan.ecpay.E", "ecpay:N": "admin.plan.ecpay.N",
	"sinopac:R": "admin.plan.sinopac.R", "sinopac:C": "admin.plan.sinopac.C",
}

func (h *Handler) registerConfirms(op *gin.RouterGroup) {
	op.GET("/orders/:no/refund", func(c *gin.Context) {
		h.confirmRefund(c, strings.TrimSpace(c.Query("payment")), nil)
	})
	op.GET("/orders/:no/requery", func(c *gin.Context) { h.confirmRequery(c, c.Query("seq"), nil) })
	op.GET("/orders/:no/refunds/:id/mark", func(c *gin.Context) { h.confirmMark(c, c.Param("id"), nil) })
	op.GET("/orders/:no/attempts/:seq/resolve", func(c *gin.Context) { h.confirmResolve(c, c.Param("seq"), nil) })
}

// showConfirm answers a refused post with its form's confirmation page
// (the page's language links point at that page). An htmx post came from
// the dialog: the answer goes back into it.
func (h *Handler) showConfirm(c *gin.Context, r *actionRefusal) {
	if web.IsHTMX(c) {
		c.Header("HX-Retarget", "#confirm-dialog")
		c.Header("HX-Reswap", "innerHTML")
	}
	kind, arg, _ := strings.Cut(r.Form, ":")
	base := "/orders/" + c.Param("no")
	u := *c.Request.URL
	u.RawQuery = ""
	switch kind {
	case "refund":
		u.Path = h.URL(base + "/refund")
		if arg != "" {
			u.RawQuery = url.Values{"payment": {arg}}.Encode()
		}
		c.Request.URL = &u
		h.confirmRefund(c, arg, r)
	case "requery":
		u.Path, u.RawQuery = h.URL(base+"/requery"), url.Values{"seq": {arg}}.Encode()
		c.Request.URL = &u
		h.confirmRequery(c, arg, r)
	case "mark":
		u.Path = h.URL(base + "/refunds/" + url.PathEscape(arg) + "/mark")
		c.Request.URL = &u
		h.confirmMark(c, arg, r)
	default:
		u.Path = h.URL(base + "/attempts/" + url.PathEscape(arg) + "/resolve")
		c.Request.URL = &u
		h.confirmResolve(c, arg, r)
	}
}

func (h *Handler) newConfirm(c *gin.Context, kind string, r *actionRefusal) *confirmView {
	no := c.Param("no")
	return &confirmView{Kind: kind, OrderNo: no, OrderURL: h.URL("/orders/" + no), Dialog: web.IsHTMX(c), Refused: r}
}

// renderConfirm answers the page: the refusal's status, else 409 (or the
// blocking refusal's) when the action cannot be done now, else 200.
func (h *Handler) renderConfirm(c *gin.Context, v *confirmView, blocked int) {
	status := http.StatusOK
	switch {
	case v.Refused != nil:
		status = v.Refused.Status
		if v.Refused.Message == v.Blocked {
			v.Blocked = "" // said once
		}
	case v.Blocked != "":
		status = blocked
	}
	h.Render.Render(c, status, "admin_confirm", h.page(c, "", v))
}

// failConfirm is a confirmation page that cannot be shown (no such order,
// payment, refund or attempt): the refusal's status when a post was
// refused, else status.
func (h *Handler) failConfirm(c *gin.Context, r *actionRefusal, status int, msg string) {
	if r != nil && msg != "admin.error.order_not_found" {
		status = r.Status
	}
	h.fail(c, status, msg)
}

// confirmRefund: the refund form of payment pid ("" the order's own).
func (h *Handler) confirmRefund(c *gin.Context, pid string, r *actionRefusal) {
	no := c.Param("no")
	if !orderNoPattern.MatchString(no) {
		h.fail(c, http.StatusNotFound, "admin.error.order_not_found")
		return
	}
	if !oneLineID(pid) {
		h.failConfirm(c, r, http.StatusNotFound, "admin.actions.error.no_payment")
		return
	}
	p, err := h.Store.Payment(c.Request.Context(), no, pid)
	switch {
	case errors.Is(err, checkout.ErrOrderNotFound):
		h.fail(c, http.StatusNotFound, "admin.error.order_not_found")
		return
	case errors.Is(err, checkout.ErrPaymentNotFound):
		h.failConfirm(c, r, http.StatusNotFound, "admin.actions.error.no_payment")
		return
	case errors.Is(err, checkout.ErrNotRefundable):
		h.failConfirm(c, r, http.StatusConflict, "admin.actions.error.not_refundable")
		return
	case err != nil:
		h.failInternal(c, "refund confirm: payment", "err", err)
		return
	}
	key, err := refundKey()
	if err != nil {
		h.failInternal(c, "refund key", "err", err)
		return
	}
	v := h.newConfirm(c, "refund", r)
	v.Action = h.URL("/orders/" + no + "/refund")
	rc := &refundConfirm{Payment: p, PaymentIn: pid, Key: key, AmountIn: strings.TrimSpace(c.Query("amount"))}
	if r != nil {
		rc.AmountIn, v.Text = r.AmountIn, r.ReasonIn
	}
	v.Refund = rc
	if p.Refundable() <= 0 {
		v.Blocked = "admin.actions.error.nothing_left"
		h.renderConfirm(c, v, http.StatusConflict)
		return
	}
	now := h.Now()
	full := h.planLine(p, p.Refundable(), now)
	full.Full, full.Amount = true, p.Refundable()
	rc.Plans = append(rc.Plans, full)
	if p.Refundable() > 1 {
		part := p.Refundable() - 1
		if n, err := strconv.ParseInt(strings.ReplaceAll(rc.AmountIn, ",", ""), 10, 64); err == nil && n > 0 && n < p.Refundable() {
			part = n
		}
		rc.Plans = append(rc.Plans, h.planLine(p, part, now))
	}
	// The whole refused (ECPay's capture window, no DoAction URL): nothing
	// can be refunded now, so nothing is offered.
	v.Blocked = full.Refusal
	h.renderConfirm(c, v, http.StatusConflict)
}

// planLine previews how amount of p would be refunded now, as pay.Refund
// will plan it (an adapter without refunds, or disabled: by hand).
func (h *Handler) planLine(p checkout.Payment, amount int64, now time.Time) planLine {
	l := planLine{Manual: true, Instructions: pay.InstructionsGeneric}
	ad, ok := h.Registry.Adapter(p.Gateway)
	if !ok {
		return l
	}
	refunder, ok := ad.(pay.Refunder)
	if !ok {
		return l
	}
	plan, err := refunder.PlanRefund(p, amount, now)
	switch {
	case errors.Is(err, pay.ErrRefundNotNow):
		return planLine{Refusal: "admin.actions.error.not_now"}
	case err != nil:
		return planLine{Refusal: "admin.actions.error.unsupported"}
	}
	l = planLine{Manual: plan.Manual, Instructions: plan.Instructions}
	for _, a := range plan.Actions {
		l.Actions = append(l.Actions, planAction{Code: a, Label: planLabels[p.Gateway+":"+a]})
	}
	return l
}

// attemptBySeq loads attempt seq of order no (sql.ErrNoRows: none).
func (h *Handler) attemptBySeq(ctx context.Context, no, seqIn string) (*checkout.Attempt, error) {
	seq, err := strconv.Atoi(seqIn)
	if err != nil || seq <= 0 || !orderNoPattern.MatchString(no) {
		return nil, sql.ErrNoRows
	}
	a := new(checkout.Attempt)
	err = h.DB.NewSelect().Model(a).Where("seq = ? AND order_id = (SELECT id FROM orders WHERE order_no = ?)", seq, no).Scan(ctx)
	return a, err
}

// defaultAttempt is the attempt a re-query without ?seq= means: the
// order's current one if it can be asked about, else the latest that can,
// else the current one (whose page then says why not).
func (h *Handler) defaultAttempt(ctx context.Context, no string) (string, error) {
	var seq int
	err := h.DB.NewRaw(`SELECT a.seq FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE o.order_no = ?
		ORDER BY (a.status IN ('pending', 'awaiting_payment', 'expired')) DESC, (a.id = o.current_attempt_id) DESC, a.seq DESC LIMIT 1`, no).Scan(ctx, &seq)
	return strconv.Itoa(seq), err
}

// requeryBlock says why attempt a may not be asked about now (nil: it may).
func (h *Handler) requeryBlock(ctx context.Context, a *checkout.Attempt) (*actionRefusal, string, error) {
	if _, enabled := h.Registry.Adapter(a.Gateway); !enabled {
		return &actionRefusal{Status: http.StatusConflict, Message: "admin.actions.error.gateway_off"}, "gateway " + a.Gateway + " not enabled", nil
	}
	if !queryable(a.Status) {
		return &actionRefusal{Status: http.StatusConflict, Message: "admin.actions.error.not_queryable"}, "attempt is " + string(a.Status), nil
	}
	now, err := h.Store.Now(ctx)
	if err != nil {
		return nil, "", err
	}
	if a.LastQueriedAt != nil && now.Sub(*a.LastQueriedAt) < requeryGap {
		return &actionRefusal{Status: http.StatusTooManyRequests, Message: "admin.actions.error.requery_soon"},
			"asked " + now.Sub(*a.LastQueriedAt).Round(time.Second).String() + " ago", nil
	}
	until, err := h.Store.Paused(ctx, a.Gateway)
	if err != nil {
		return nil, "", err
	}
	if !until.IsZero() {
		return &actionRefusal{Status: http.StatusConflict, Message: "admin.actions.error.paused", Until: until.In(checkout.Taipei).Format("2006-01-02 15:04")},
			"gateway paused until " + until.In(checkout.Taipei).Format("2006-01-02 15:04"), nil
	}
	return nil, "", nil
}

// confirmRequery: what will be asked of the gateway about attempt seq.
func (h *Handler) confirmRequery(c *gin.Context, seq string, r *actionRefusal) {
	ctx := c.Request.Context()
	no := c.Param("no")
	if !h.orderExists(c, no) {
		return
	}
	if seq == "" {
		s, err := h.defaultAttempt(ctx, no)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			h.failInternal(c, "requery confirm: attempt", "err", err)
			return
		}
		seq = s
	}
	a, err := h.attemptBySeq(ctx, no, seq)
	if errors.Is(err, sql.ErrNoRows) {
		h.failConfirm(c, r, http.StatusNotFound, "admin.actions.error.attempt_not_found")
		return
	}
	if err != nil {
		h.failInternal(c, "requery confirm: attempt", "err", err)
		return
	}
	v := h.newConfirm(c, "requery", r)
	v.Attempt, v.Action = a, h.URL("/orders/"+no+"/attempts/"+strconv.Itoa(a.Seq)+"/requery")
	block, _, err := h.requeryBlock(ctx, a)
	if err != nil {
		h.failInternal(c, "requery confirm: block", "err", err)
		return
	}
	status := http.StatusOK
	if block != nil {
		v.Blocked, v.Until, status = block.Message, block.Until, block.Status
	}
	if r != nil && r.Until != "" {
		v.Until = r.Until
	}
	h.renderConfirm(c, v, status)
}

// orderExists answers 404 (false) unless order no exists.
func (h *Handler) orderExists(c *gin.Context, no string) bool {
	if orderNoPattern.MatchString(no) {
		n, err := h.DB.NewSelect().Table("orders").Where("order_no = ?", no).Count(c.Request.Context())
		if err != nil {
			h.failInternal(c, "order exists", "err", err)
			return false
		}
		if n > 0 {
			return true
		}
	}
	h.fail(c, http.StatusNotFound, "admin.error.order_not_found")
	return false
}

// refundOf loads refund id of order no (checkout.ErrRefundNotFound: none,
// or another order's).
func (h *Handler) refundOf(ctx context.Context, no, idIn string) (*checkout.Refund, error) {
	id, err := strconv.ParseInt(idIn, 10, 64)
	if err != nil || id <= 0 {
		return nil, checkout.ErrRefundNotFound
	}
	ref, err := h.Store.Refund(ctx, id)
	if err != nil {
		return nil, err
	}
	var orderNo string
	if err := h.DB.NewRaw("SELECT order_no FROM orders WHERE id = ?", ref.OrderID).Scan(ctx, &orderNo); err != nil {
		return nil, err
	}
	if orderNo != no {
		return nil, checkout.ErrRefundNotFound
	}
	return ref, nil
}

// markBlock says why refund ref cannot be settled by hand now ("": it can).
func (h *Handler) markBlock(ref *checkout.Refund) string {
	switch {
	case ref.State != checkout.RefundRequested:
		return "admin.actions.error.settled"
	case !ref.Manual && h.Now().Sub(ref.CreatedAt) <= checkout.RefundCallWindow:
		return "admin.actions.error.in_flight"
	}
	return ""
}

// confirmMark: a refund's facts and the form settling it by hand.
func (h *Handler) confirmMark(c *gin.Context, id string, r *actionRefusal) {
	no := c.Param("no")
	if !h.orderExists(c, no) {
		return
	}
	ref, err := h.refundOf(c.Request.Context(), no, id)
	if errors.Is(err, checkout.ErrRefundNotFound) {
		h.failConfirm(c, r, http.StatusNotFound, "admin.actions.error.refund_not_found")
		return
	}
	if err != nil {
		h.failInternal(c, "mark confirm: refund", "err", err)
		return
	}
	v := h.newConfirm(c, "mark", r)
	v.Mark, v.Action, v.Outcome = ref, h.URL("/orders/"+no+"/refunds/"+strconv.FormatInt(ref.ID, 10)), c.Query("outcome")
	if r != nil {
		v.Outcome, v.Text = r.OutcomeIn, r.ReasonIn
	}
	if v.Outcome != "failed" {
		v.Outcome = "done"
	}
	v.Blocked = h.markBlock(ref)
	h.renderConfirm(c, v, http.StatusConflict)
}

// confirmResolve: the review's reason and the note form resolving it.
func (h *Handler) confirmResolve(c *gin.Context, seq string, r *actionRefusal) {
	no := c.Param("no")
	if !h.orderExists(c, no) {
		return
	}
	a, err := h.attemptBySeq(c.Request.Context(), no, seq)
	if errors.Is(err, sql.ErrNoRows) {
		h.failConfirm(c, r, http.StatusNotFound, "admin.actions.error.attempt_not_found")
		return
	}
	if err != nil {
		h.failInternal(c, "resolve confirm: attempt", "err", err)
		return
	}
	v := h.newConfirm(c, "resolve", r)
	v.Attempt, v.Action = a, h.URL("/orders/"+no+"/attempts/"+strconv.Itoa(a.Seq)+"/resolve")
	if r != nil {
		v.Text = r.ReasonIn
	}
	if a.ReviewReason == "" {
		v.Blocked = "admin.actions.error.not_in_review"
	}
	h.renderConfirm(c, v, http.StatusConflict)
}
