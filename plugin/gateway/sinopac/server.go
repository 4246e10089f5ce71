package sinopac

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"
)

// Server-side helpers: they let a local sandbox play the bank with the same
// code the client uses.

// NonceRequest is the body of a Nonce call.
type NonceRequest struct {
	ShopNo string `json:"ShopNo"`
}

// NonceResponse is the bank's reply to a Nonce call.
type NonceResponse struct {
	Nonce string `json:"Nonce"`
}

// OpenRequest verifies a request envelope as the bank would (IV and sign from
// the request's nonce) and decodes its service object into v. Checking that
// the nonce was issued by the server and is unused is the caller's job.
func OpenRequest(hashID string, env Envelope, v any) error {
	if env.Version != Version {
		return fmt.Errorf("%w: Version %q", ErrBadEnvelope, env.Version)
	}
	if env.ShopNo == "" || env.APIService == "" {
		return fmt.Errorf("%w: ShopNo or APIService missing", ErrBadEnvelope)
	}
	return openInto(hashID, env, v)
}

// SealResponse seals v as the reply to req under a new nonce; the bank never
// reuses the request's nonce for its reply, so that is refused.
func SealResponse(hashID string, req Envelope, nonce string, v any) (Envelope, error) {
	if nonce == req.Nonce {
		return Envelope{}, fmt.Errorf("%w: response nonce must differ from the request nonce", ErrBadEnvelope)
	}
	return Seal(hashID, req.ShopNo, req.APIService, nonce, v)
}

// unixTo0001 is the number of seconds from 0001-01-01 to 1970-01-01.
const unixTo0001 = 62135596800

// NewNonce returns a fresh random nonce shaped like the bank's (108 base64
// chars of "<ms since 0001-01-01, Taiwan wall clock>.<digit>:<64 hex>", as
// decoded from real nonces). Clients must treat nonces as opaque.
func NewNonce(now time.Time) string {
	var r [32]byte
	_, _ = rand.Read(r[:]) // never fails since Go 1.24
	us := now.UnixMicro() + (unixTo0001+8*3600)*1_000_000
	s := fmt.Sprintf("%d.%d:%x", us/1000, us%1000/100, r)
	return base64.StdEncoding.EncodeToString([]byte(s))
}
