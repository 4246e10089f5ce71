package admin

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// loginView is the login form's data.
type loginView struct {
	Email, Next string
	Error       string // message ID
	Notice      string // message ID (signed out)
}

func (h *Handler) loginForm(c *gin.Context) {
	if _, ok, _ := h.sessionIdentity(c); ok {
		c.Redirect(http.StatusSeeOther, h.after(c.Query("next")))
		return
	}
	v := loginView{Next: c.Query("next")}
	if !h.safeNext(v.Next) {
		v.Next = ""
	}
	if c.Query("signed_out") == "1" {
		v.Notice = "admin.login.signed_out"
	}
	h.Render.Render(c, http.StatusOK, "admin_login", h.page(c, "", v))
}

// login checks the form: a wrong email or password, whichever it was,
// gets one message; too many wrong tries for the account or from the
// address get another (429) before any password is checked.
func (h *Handler) login(c *gin.Context) {
	v := loginView{Next: c.PostForm("next")}
	if !h.safeNext(v.Next) {
		v.Next = ""
	}
	v.Email = c.PostForm("email")
	password := c.PostForm("password")
	email, err := NormalizeEmail(v.Email)
	if err != nil {
		email = v.Email // still throttled under what was typed
	}
	now := time.Now()
	try, ok := h.throttle.begin(email, c.ClientIP(), now)
	if !ok {
		v.Error = "admin.login.throttled"
		h.Render.Render(c, http.StatusTooManyRequests, "admin_login", h.page(c, "", v))
		return
	}
	u, err := h.authenticate(c.Request.Context(), email, password)
	if errors.Is(err, errBadCredentials) {
		h.Log.Info("admin: sign-in refused", "source", c.ClientIP()) // not the email: a typo may be a password
		v.Error = "admin.login.wrong"
		h.Render.Render(c, http.StatusUnauthorized, "admin_login", h.page(c, "", v))
		return
	}
	if err != nil {
		h.failInternal(c, "sign in", "err", err)
		return
	}
	try.succeeded(now)
	if err := h.startSession(c, u); err != nil {
		h.failInternal(c, "start session", "err", err)
		return
	}
	h.Log.Info("admin: signed in", "user", u.ID, "role", u.Role, "source", c.ClientIP())
	c.Redirect(http.StatusSeeOther, h.after(v.Next))
}

// after is where a sign-in goes on: next when it is a page of ours.
func (h *Handler) after(next string) string {
	if h.safeNext(next) && !strings.HasPrefix(next, h.URL("/login")) {
		return next
	}
	return h.URL("/dashboard")
}

func (h *Handler) logout(c *gin.Context) {
	id, _ := IdentityOf(c)
	if err := h.endSession(c.Request.Context(), c); err != nil {
		h.failInternal(c, "sign out", "err", err)
		return
	}
	h.Log.Info("admin: signed out", "user", id.UserID)
	c.Redirect(http.StatusSeeOther, h.URL("/login?signed_out=1"))
}
