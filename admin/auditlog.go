package admin

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
)

// The audit log page, GET /audit (any signed-in member): admin_audit
// newest first, filtered by order, action, actor and result, paged by a
// signed keyset cursor over the id (id < cursor). The order page shows the
// order's latest entries in the actions panel.

// auditPer is how many entries one page shows.
const auditPer = 50

// auditActions are the actions the filter offers (any other well-formed
// action name is accepted from the URL).
var auditActions = []string{"refund", "refund.mark", "requery", "review.resolve"}

var auditResults = []AuditResult{AuditStarted, AuditOK, AuditRefused, AuditFailed, AuditError}

var actionPattern = regexp.MustCompile(`^[a-z][a-z_.]{0,39}$`) // as admin_audit's CHECK

// messagePrefix is a detail that starts with a message ID (what refuse
// and done write): "admin.actions.error.x: our own words".
var messagePrefix = regexp.MustCompile(`(?s)^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+): (.*)$`)

// auditRow is one entry as the pages show it.
type auditRow struct {
	AuditEntry
	ActionLabel string // message ID, or "" (then the action as stored)
	OrderURL    string
	Form        []formField // the form as submitted, by name
	DetailID    string      // message ID the detail starts with
	DetailText  string      // the rest, shown escaped
	ErrorID     string      // our own failure's error ID
}

type formField struct{ Name, Value string }

// auditFilter is the page's query.
type auditFilter struct {
	Order, Action, Actor, Result string
	After                        string // the cursor
}

// auditFilterOf reads the page's query (FuzzAuditFilter checks that it
// round-trips through query).
func auditFilterOf(q url.Values) auditFilter {
	return auditFilter{Order: strings.TrimSpace(q.Get("order")), Action: strings.TrimSpace(q.Get("action")),
		Actor: strings.TrimSpace(q.Get("actor")), Result: strings.TrimSpace(q.Get("result")), After: q.Get("after")}
}

func (f auditFilter) query(extra ...string) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"order": f.Order, "action": f.Action, "actor": f.Actor, "result": f.Result} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// fingerprint binds a cursor to the filter it was made for.
func (f auditFilter) fingerprint() [8]byte {
	s := sha256.Sum256([]byte("audit\x00" + f.Order + "\x00" + f.Action + "\x00" + strings.ToLower(f.Actor) + "\x00" + f.Result))
	var fp [8]byte
	copy(fp[:], s[:8])
	return fp
}

// auditChoice is one action the filter offers, with its label (message
// ID, or "" to show the action as it is).
type auditChoice struct{ Value, Label string }

// auditView is the page.
type auditView struct {
	F        auditFilter
	Errors   []fieldError
	Invalid  map[string]bool
	Notice   string // message ID: a refused cursor
	Rows     []auditRow
	Actions  []auditChoice
	Results  []AuditResult
	Action   string // the page's URL, without a query
	FirstURL string
	NextURL  string
	Filtered bool
}

func (h *Handler) auditLog(c *gin.Context) {
	f := auditFilterOf(c.Request.URL.Query())
	v := &auditView{F: f, Invalid: map[string]bool{}, Results: auditResults, Action: h.URL("/audit")}
	bad := func(field, msg string) {
		v.Errors, v.Invalid[field] = append(v.Errors, fieldError{Field: field, Message: msg}), true
	}
	if f.Order != "" && !orderNoPattern.MatchString(f.Order) {
		bad("order", "admin.audit.error.order")
	}
	if f.Action != "" && !actionPattern.MatchString(f.Action) {
		bad("action", "admin.audit.error.action")
	}
	actions := slices.Clone(auditActions)
	if f.Action != "" && !v.Invalid["action"] && !slices.Contains(actions, f.Action) {
		actions = append(actions, f.Action) // another feature's action, named by the URL
	}
	for _, a := range actions {
		ch := auditChoice{Value: a}
		if h.plainMessage("admin.audit.action." + a) {
			ch.Label = "admin.audit.action." + a
		}
		v.Actions = append(v.Actions, ch)
	}
	if f.Actor != "" && (!oneLineID(f.Actor) || len(f.Actor) > 200) {
		bad("actor", "admin.audit.error.actor")
	}
	if f.Result != "" && !slices.Contains(auditResults, AuditResult(f.Result)) {
		bad("result", "admin.audit.error.result")
	}
	v.Filtered = f.Order != "" || f.Action != "" || f.Actor != "" || f.Result != ""
	v.FirstURL = h.auditURL(f.query())
	if len(v.Errors) > 0 {
		h.Render.Render(c, http.StatusBadRequest, "admin_audit", h.page(c, "", v))
		return
	}
	var before int64
	if f.After != "" {
		cu, err := h.cursors.decode(f.After, f.fingerprint())
		if errors.Is(err, errBadCursor) || (err == nil && cu.Back) {
			v.Notice = "admin.audit.bad_cursor"
			h.Render.Render(c, http.StatusBadRequest, "admin_audit", h.page(c, "", v))
			return
		}
		before = cu.ID
	}
	var entries []AuditEntry
	sel := h.DB.NewSelect().Model(&entries).Apply(func(s *bun.SelectQuery) *bun.SelectQuery { return f.where(s) })
	if before > 0 {
		sel = sel.Where("id < ?", before)
	}
	if err := sel.Order("id DESC").Limit(auditPer + 1).Scan(c.Request.Context()); err != nil {
		h.failInternal(c, "audit log", "err", err)
		return
	}
	if len(entries) > auditPer {
		entries = entries[:auditPer]
		last := entries[len(entries)-1]
		v.NextURL = h.auditURL(f.query("after", h.cursors.encode(cursor{ID: last.ID}, f.fingerprint())))
	}
	for _, e := range entries {
		v.Rows = append(v.Rows, h.auditRowOf(c, e))
	}
	h.Render.Render(c, http.StatusOK, "admin_audit", h.page(c, "", v))
}

// where narrows a select of admin_audit to the filter.
func (f auditFilter) where(s *bun.SelectQuery) *bun.SelectQuery {
	if f.Order != "" {
		s = s.Where("order_no = ?", f.Order)
	}
	if f.Action != "" {
		s = s.Where("action = ?", f.Action)
	}
	if f.Actor != "" {
		s = s.Where("lower(actor_email) = lower(?)", f.Actor)
	}
	if f.Result != "" {
		s = s.Where("result = ?", f.Result)
	}
	return s
}

func (h *Handler) auditURL(q url.Values) string {
	if enc := encodeQuery(q); enc != "" {
		return h.URL("/audit") + "?" + enc
	}
	return h.URL("/audit")
}

// auditRowOf prepares entry e for a page: the action's label, the form
// sorted by name, and the detail split into its message and the rest.
func (h *Handler) auditRowOf(c *gin.Context, e AuditEntry) auditRow {
	r := auditRow{AuditEntry: e}
	if h.plainMessage("admin.audit.action." + e.Action) {
		r.ActionLabel = "admin.audit.action." + e.Action
	}
	if e.OrderNo != "" && orderNoPattern.MatchString(e.OrderNo) {
		r.OrderURL = h.URL("/orders/" + e.OrderNo)
	}
	for k, val := range e.Request {
		r.Form = append(r.Form, formField{Name: k, Value: val})
	}
	sort.Slice(r.Form, func(i, j int) bool { return r.Form[i].Name < r.Form[j].Name })
	switch m := messagePrefix.FindStringSubmatch(e.Detail); {
	case e.Result == AuditError:
		r.ErrorID = e.Detail
	case m != nil && h.plainMessage(m[1]):
		r.DetailID, r.DetailText = m[1], m[2]
	default:
		r.DetailText = e.Detail
	}
	return r
}

// plainMessage: id is a message (in the default language) that needs no
// template data, so a page may show it from an ID stored in a row.
func (h *Handler) plainMessage(id string) bool {
	s, err := i18n.NewLocalizer(h.Bundle, "zh-TW").Localize(&i18n.LocalizeConfig{MessageID: id})
	return err == nil && !strings.Contains(s, "<no value>")
}

// When is the entry's time in Taiwan, to the second.
func (r auditRow) When() string { return r.At.In(checkout.Taipei).Format("2006-01-02 15:04:05") }

// ISO is the entry's time for <time datetime>.
func (r auditRow) ISO() string { return r.At.UTC().Format("2006-01-02T15:04:05Z") }
