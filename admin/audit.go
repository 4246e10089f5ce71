package admin

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"
)

// AuditResult is how an audited action ended.
type AuditResult string

const (
	AuditStarted AuditResult = "started" // written before the action runs
	AuditOK      AuditResult = "ok"
	AuditRefused AuditResult = "refused" // the order's state (or the gateway's rules) forbade it: nothing changed
	AuditFailed  AuditResult = "failed"  // the gateway said no, or its answer is unknown
	AuditError   AuditResult = "error"   // our own failure (detail: the error ID)
)

// AuditEntry is one row of admin_audit: who did what, when, from where,
// and how it ended.
type AuditEntry struct {
	bun.BaseModel `bun:"table:admin_audit"`

	ID         int64             `bun:",pk,autoincrement"`
	At         time.Time         `bun:",nullzero,notnull,default:current_timestamp"`
	ActorEmail string            `bun:",notnull"`
	ActorID    *int64            `bun:""`
	ActorRole  Role              `bun:",notnull"`
	RemoteAddr string            `bun:",notnull"`
	UserAgent  string            `bun:",notnull"`
	Action     string            `bun:",notnull"`
	OrderNo    string            `bun:",notnull"`
	Target     string            `bun:",notnull"`
	Request    map[string]string `bun:",type:jsonb,notnull"`
	Result     AuditResult       `bun:",notnull"`
	Detail     string            `bun:",notnull"`
	FinishedAt *time.Time        `bun:""`
}

// Audit is an action about to run: Begin wrote its row, Finish records
// how it ended. Every operator action goes through it, so none runs
// unrecorded: when the row cannot be written the action must not run.
type Audit struct {
	h  *Handler
	id int64
}

// auditForm keeps at most this many form fields, each cut to maxAuditValue.
const (
	maxAuditFields = 20
	maxAuditValue  = 500
)

// auditSecret names form fields never recorded (the CSRF token, any password).
func auditSecret(name string) bool {
	n := strings.ToLower(name)
	return n == "csrf" || n == "_csrf" || strings.Contains(n, "password") || strings.Contains(n, "token") || strings.Contains(n, "secret")
}

// BeginAudit records that the signed-in member starts action (e.g.
// "refund", "requery") on orderNo's target, with the submitted form
// (secrets left out), and returns the entry to finish.
func (h *Handler) BeginAudit(c *gin.Context, action, orderNo, target string) (*Audit, error) {
	id, ok := IdentityOf(c)
	if !ok {
		return nil, errors.New("admin: audit without a signed-in member")
	}
	req := map[string]string{}
	if c.Request.PostForm != nil || c.Request.Method == "POST" {
		_ = c.Request.ParseForm()
		for k, vs := range c.Request.PostForm {
			if auditSecret(k) || len(req) >= maxAuditFields || len(vs) == 0 {
				continue
			}
			req[cut(k, 60)] = cut(vs[0], maxAuditValue)
		}
	}
	e := &AuditEntry{ActorEmail: id.Email, ActorRole: id.Role, RemoteAddr: c.ClientIP(), UserAgent: cut(c.Request.UserAgent(), 300),
		Action: action, OrderNo: orderNo, Target: target, Request: req, Result: AuditStarted}
	if id.UserID != 0 {
		e.ActorID = &id.UserID
	}
	if _, err := h.DB.NewInsert().Model(e).Returning("id").Exec(c.Request.Context()); err != nil {
		return nil, err
	}
	return &Audit{h: h, id: e.ID}, nil
}

// Finish records how the action ended (once; a second call changes
// nothing). It runs on its own short context: the action's outcome is
// recorded even when the request was cancelled meanwhile.
func (a *Audit) Finish(ctx context.Context, result AuditResult, detail string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := a.h.DB.NewRaw(`UPDATE admin_audit SET result = ?, detail = ?, finished_at = now() WHERE id = ? AND result = 'started'`,
		result, cut(detail, 2000), a.id).Exec(ctx)
	if err != nil {
		a.h.Log.Error("admin: audit finish", "audit_id", a.id, "result", result, "err", err)
	}
	return err
}

// ID is the audit row's id.
func (a *Audit) ID() int64 { return a.id }

// auditOf lists an order's audit entries, oldest first (at most limit).
func (h *Handler) auditOf(ctx context.Context, orderNo string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := h.DB.NewSelect().Model(&out).Where("order_no = ?", orderNo).Order("id DESC").Limit(int64(limit)).Scan(ctx)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
