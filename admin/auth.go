package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/web"
)

// Role is what a staff member may do.
type Role string

const (
	RoleViewer   Role = "viewer"   // reads orders and their events
	RoleOperator Role = "operator" // also refunds, re-queries, resolves reviews
)

// Roles lists every role, least first.
var Roles = []Role{RoleViewer, RoleOperator}

// ParseRole accepts "viewer" or "operator".
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RoleViewer, RoleOperator:
		return Role(s), nil
	}
	return "", fmt.Errorf("admin: role %q: want viewer or operator", s)
}

// Can reports whether r includes what need allows (an operator can do
// everything a viewer can).
func (r Role) Can(need Role) bool {
	rank := map[Role]int{RoleViewer: 1, RoleOperator: 2}
	return rank[r] > 0 && rank[r] >= rank[need]
}

// Identity is the signed-in staff member.
type Identity struct {
	Email string
	Role  Role
	// UserID is the admin_users row (0 when the host authenticated them).
	UserID int64
}

const identityKey = "twpay/admin/identity"

// IdentityOf returns who made the request, on admin routes past the login check.
func IdentityOf(c *gin.Context) (Identity, bool) {
	v, ok := c.Get(identityKey)
	id, _ := v.(Identity)
	return id, ok && id.Role != ""
}

// requireLogin lets through the signed-in (twpay's session or the host's
// identity). A page request of the anonymous is sent to the login page
// (coming back afterwards); an htmx request gets 401 with HX-Redirect,
// so htmx loads the login page instead of swapping a fragment.
func (h *Handler) requireLogin(c *gin.Context) {
	id, ok, err := h.identify(c)
	if err != nil {
		c.Abort()
		h.failInternal(c, "load session", "err", err)
		return
	}
	if ok {
		if _, known := map[Role]bool{RoleViewer: true, RoleOperator: true}[id.Role]; !known {
			ok = false // a host identity without a role we know is nobody
		}
	}
	if !ok {
		c.Abort()
		h.refuseAnonymous(c)
		return
	}
	c.Set(identityKey, id)
	c.Next()
}

func (h *Handler) identify(c *gin.Context) (Identity, bool, error) {
	if h.HostIdentity != nil {
		id, ok := h.HostIdentity(c)
		return id, ok, nil
	}
	return h.sessionIdentity(c)
}

func (h *Handler) refuseAnonymous(c *gin.Context) {
	login := h.loginURL(c.Request.URL)
	if web.IsHTMX(c) {
		c.Header("HX-Redirect", login)
		c.Header("Vary", "HX-Request")
		c.Status(http.StatusUnauthorized) // htmx follows HX-Redirect; nothing to show
		return
	}
	if login == "" {
		h.fail(c, http.StatusUnauthorized, "admin.error.unauthorized")
		return
	}
	c.Redirect(http.StatusSeeOther, login)
}

// loginURL is where the anonymous sign in: ours with ?next= (this page),
// or the host's.
func (h *Handler) loginURL(from *url.URL) string {
	if h.HostIdentity != nil {
		return h.HostLoginURL
	}
	next := ""
	if from != nil && (from.Path != h.URL("/login")) {
		next = from.RequestURI()
	}
	u := h.URL("/login")
	if next != "" && h.safeNext(next) {
		u += "?next=" + url.QueryEscape(next)
	}
	return u
}

// safeNext accepts only a path inside the admin (no scheme, no host, no
// "//" or "/\" that a browser would read as another host).
func (h *Handler) safeNext(next string) bool {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || path.Clean(u.Path) != strings.TrimSuffix(u.Path, "/") && path.Clean(u.Path) != u.Path {
		return false // also no "." or ".." segments: what is checked is what the browser requests
	}
	base := strings.TrimSuffix(h.base, "/")
	return u.Path == base || strings.HasPrefix(u.Path, base+"/")
}

// RequireRole refuses (403, localized) a signed-in member whose role does
// not include need. It must run after the login check (Register's group).
func RequireRole(need Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := IdentityOf(c)
		if !ok || !id.Role.Can(need) {
			c.Abort()
			if h, ok := c.Get(handlerKey); ok {
				h.(*Handler).fail(c, http.StatusForbidden, "admin.error.forbidden")
				return
			}
			c.Status(http.StatusForbidden) // outside Register's group: no page to render
			return
		}
		c.Next()
	}
}

const handlerKey = "twpay/admin/handler"
