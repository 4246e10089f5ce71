package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/web"
)

// The admin cookie (gin-contrib/sessions' cookie store, signed and
// encrypted with keys of its own) carries a random session token, the
// CSRF token and the language. The token's SHA-256 names a row of
// admin_sessions, which says whose session it is and until when; the
// role is read from admin_users on every request, so a demotion or a
// disabled account takes effect at once.
const tokenKey = "sid"

// startSession signs u in: the cookie's contents are replaced (a new
// token, a new CSRF token; only the language stays), so whatever the browser
// held before signing in, including a planted cookie, is worth nothing
// after.
func (h *Handler) startSession(c *gin.Context, u *User) error {
	ctx := c.Request.Context()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	if _, err := h.DB.NewRaw(`INSERT INTO admin_sessions (token_sha256, user_id, expires_at, remote_addr)
		VALUES (?, ?, now() + make_interval(secs => ?), ?)`, sum[:], u.ID, h.SessionTTL.Seconds(), c.ClientIP()).Exec(ctx); err != nil {
		return err
	}
	if _, err := h.DB.NewRaw(`UPDATE admin_users SET last_login_at = now() WHERE id = ?`, u.ID).Exec(ctx); err != nil {
		return err
	}
	// Expired sessions go whenever someone signs in (an index on expires_at).
	if _, err := h.DB.NewRaw(`DELETE FROM admin_sessions WHERE expires_at < now() OR last_seen_at < now() - make_interval(secs => ?)`,
		h.IdleTTL.Seconds()).Exec(ctx); err != nil {
		return err
	}
	s := web.SessionOf(c)
	s.Clear()
	s.Set(tokenKey, base64.RawURLEncoding.EncodeToString(raw))
	return s.Save()
}

// sessionIdentity returns the member the cookie's token belongs to, when
// the session is neither expired nor idle too long and the account is
// enabled; it notes the session's use at most once a minute.
func (h *Handler) sessionIdentity(c *gin.Context) (Identity, bool, error) {
	sum, ok := sessionToken(c)
	if !ok {
		return Identity{}, false, nil
	}
	ctx := c.Request.Context()
	var id Identity
	var lastSeen time.Time
	err := h.DB.NewRaw(`SELECT u.id, u.email, u.role, s.last_seen_at FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id
		WHERE s.token_sha256 = ? AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(secs => ?) AND NOT u.disabled`,
		sum[:], h.IdleTTL.Seconds()).Scan(ctx, &id.UserID, &id.Email, &id.Role, &lastSeen)
	if errors.Is(err, sql.ErrNoRows) {
		return Identity{}, false, nil
	}
	if err != nil {
		return Identity{}, false, err
	}
	if time.Since(lastSeen) > time.Minute {
		if _, err := h.DB.NewRaw(`UPDATE admin_sessions SET last_seen_at = now() WHERE token_sha256 = ?`, sum[:]).Exec(ctx); err != nil {
			return Identity{}, false, err
		}
	}
	return id, true, nil
}

// endSession deletes the session's row and empties the cookie.
func (h *Handler) endSession(ctx context.Context, c *gin.Context) error {
	if sum, ok := sessionToken(c); ok {
		if _, err := h.DB.NewRaw(`DELETE FROM admin_sessions WHERE token_sha256 = ?`, sum[:]).Exec(ctx); err != nil {
			return err
		}
	}
	s := web.SessionOf(c)
	s.Clear()
	return s.Save()
}

func sessionToken(c *gin.Context) ([32]byte, bool) {
	s := web.SessionOf(c)
	if s == nil {
		return [32]byte{}, false
	}
	tok, _ := s.Get(tokenKey).(string)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		return [32]byte{}, false
	}
	return sha256.Sum256(raw), true
}
