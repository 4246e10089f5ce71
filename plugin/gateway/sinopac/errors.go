package sinopac

import (
	"errors"
	"fmt"
)

// Sentinel errors. Wrapped errors add context but never key material.
var (
	ErrBadKey         = errors.New("sinopac: invalid key")
	ErrBadCiphertext  = errors.New("sinopac: bad ciphertext")
	ErrBadSign        = errors.New("sinopac: sign mismatch")
	ErrBadPlaintext   = errors.New("sinopac: plaintext is not a signable JSON object")
	ErrBadEnvelope    = errors.New("sinopac: malformed envelope or response")
	ErrNoNonce        = errors.New("sinopac: bank returned no nonce")
	ErrBadAmount      = errors.New("sinopac: bad amount")
	ErrInvalidRequest = errors.New("sinopac: invalid request")
	ErrConfig         = errors.New("sinopac: client misconfigured")
	ErrHTTPStatus     = errors.New("sinopac: unexpected HTTP status")
	ErrAPIFailure     = errors.New("sinopac: bank reported failure")
	ErrNotPaid        = errors.New("sinopac: not paid")
	ErrMismatch       = errors.New("sinopac: response does not match the order")
)

// HTTPError is a non-200 reply. The body shape of such replies is
// unconfirmed, so it is kept (truncated) for diagnosis only.
type HTTPError struct {
	Endpoint   string // "Nonce" or "Order"
	StatusCode int
	Body       []byte // at most maxErrorBody bytes
}

const maxErrorBody = 512

func (e *HTTPError) Error() string {
	return fmt.Sprintf("sinopac: POST %s: HTTP %d", e.Endpoint, e.StatusCode)
}

func (e *HTTPError) Unwrap() error { return ErrHTTPStatus }

// APIError is a verified response whose Status is not "S".
type APIError struct {
	Service     string
	Status      string
	Description string // e.g. "E0602 收款方式未啟用"
}

func (e *APIError) Error() string {
	return fmt.Sprintf("sinopac: %s: status %q: %s", e.Service, e.Status, e.Description)
}

func (e *APIError) Unwrap() error { return ErrAPIFailure }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)
}
