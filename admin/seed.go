package admin

import (
	"context"
	"crypto/rand"
	"errors"

	"github.com/uptrace/bun"
)

// DemoOperatorEmail is the account `make run` (sandbox mode) creates.
const DemoOperatorEmail = "operator@demo.twpay.test"

// EnsureDemoOperator creates the demo operator with a fresh random
// password and returns it, once: when the account exists already it
// returns created false and no password (only its hash was kept; reset
// it with create-admin -update).
func EnsureDemoOperator(ctx context.Context, db bun.IDB, p HashParams) (email, password string, created bool, err error) {
	password = RandomPassword()
	_, err = CreateUser(ctx, db, DemoOperatorEmail, password, RoleOperator, p, false)
	if errors.Is(err, ErrUserExists) {
		return DemoOperatorEmail, "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	return DemoOperatorEmail, password, true, nil
}

// RandomPassword is 20 characters from an alphabet without look-alikes
// (about 100 bits).
func RandomPassword() string {
	const alphabet = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
	b := make([]byte, 20)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
