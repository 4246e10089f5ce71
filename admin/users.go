package admin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// User is one row of admin_users.
type User struct {
	bun.BaseModel `bun:"table:admin_users"`

	ID           int64     `bun:",pk,autoincrement"`
	Email        string    `bun:",notnull"`
	PasswordHash string    `bun:",notnull"`
	Role         Role      `bun:",notnull"`
	Disabled     bool      `bun:",notnull"`
	CreatedAt    time.Time `bun:",nullzero,notnull,default:current_timestamp"`
	LastLoginAt  *time.Time
}

// ErrUserExists: create-admin for an email that already has an account.
var ErrUserExists = errors.New("admin: an admin user with this email exists")

// errBadCredentials: wrong email or password (never which).
var errBadCredentials = errors.New("admin: wrong email or password")

// NormalizeEmail trims and lower-cases an address and checks it is one
// plain address (no display name).
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 {
		return "", fmt.Errorf("admin: %q is not an email address", s)
	}
	return s, nil
}

// CheckPassword refuses a password create-admin must not accept.
func CheckPassword(pw string) error {
	switch {
	case len([]rune(pw)) < MinPasswordLen:
		return fmt.Errorf("admin: the password needs at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Errorf("admin: the password is longer than %d bytes", MaxPasswordLen)
	case strings.TrimSpace(pw) != pw:
		return errors.New("admin: the password starts or ends with white space (a copy-paste slip?)")
	}
	return nil
}

// CreateUser adds a staff account with an argon2id hash of password. With
// update, an existing account of that email gets the new password and
// role instead of ErrUserExists (and its sessions end).
func CreateUser(ctx context.Context, db bun.IDB, email, password string, role Role, p HashParams, update bool) (*User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	hash, err := HashPassword(password, p)
	if err != nil {
		return nil, err
	}
	u := &User{Email: email, PasswordHash: hash, Role: role}
	q := db.NewInsert().Model(u).Column("email", "password_hash", "role")
	if update {
		q = q.On("CONFLICT (email) DO UPDATE").Set("password_hash = EXCLUDED.password_hash").
			Set("role = EXCLUDED.role").Set("disabled = false")
	}
	if _, err := q.Returning("*").Exec(ctx); err != nil {
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == "23505" {
			return nil, ErrUserExists
		}
		return nil, err
	}
	if update {
		if _, err := db.NewDelete().TableExpr("admin_sessions").Where("user_id = ?", u.ID).Exec(ctx); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// authenticate returns the enabled user whose password matches. An
// unknown email costs the same argon2 work as a known one.
func (h *Handler) authenticate(ctx context.Context, email, password string) (*User, error) {
	u := new(User)
	err := h.DB.NewSelect().Model(u).Where("email = ?", email).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		u = nil
	} else if err != nil {
		return nil, err
	}
	hash := h.dummy
	if u != nil {
		hash = u.PasswordHash
	}
	select {
	case h.hashing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ok, err := VerifyPassword(password, hash)
	<-h.hashing
	if err != nil {
		return nil, fmt.Errorf("admin: a stored password hash: %w", err)
	}
	if !ok || u == nil || u.Disabled {
		return nil, errBadCredentials
	}
	return u, nil
}
