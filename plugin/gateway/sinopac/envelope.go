package sinopac

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Envelope is the body of every Order request and response (spec §2).
// Fields are declared in the documented order.
type Envelope struct {
	Version    string `json:"Version"`
	ShopNo     string `json:"ShopNo"`
	APIService string `json:"APIService"`
	Nonce      string `json:"Nonce"`
	Sign       string `json:"Sign"`    // 64 upper-hex chars
	Message    string `json:"Message"` // upper-hex AES ciphertext of the service JSON
}

// Seal encodes v with Marshal, then encrypts and signs it under nonce.
func Seal(hashID, shopNo, service, nonce string, v any) (Envelope, error) {
	plain, err := Marshal(v)
	if err != nil {
		return Envelope{}, fmt.Errorf("sinopac: encode %s: %w", service, err)
	}
	return SealRaw(hashID, shopNo, service, nonce, plain)
}

// SealRaw is Seal for an already-encoded service object. The sign is computed
// from these exact bytes, so what is signed is what is encrypted.
func SealRaw(hashID, shopNo, service, nonce string, plain []byte) (Envelope, error) {
	if nonce == "" {
		return Envelope{}, fmt.Errorf("%w: empty nonce", ErrBadEnvelope)
	}
	sign, err := Sign(plain, nonce, hashID)
	if err != nil {
		return Envelope{}, err
	}
	msg, err := Encrypt(hashID, nonce, plain)
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{Version: Version, ShopNo: shopNo, APIService: service, Nonce: nonce, Sign: sign, Message: msg}, nil
}

// Open decrypts env.Message with the IV of env.Nonce (for a response that is
// the bank's new nonce, never the request's), recomputes the sign with the
// same nonce and compares it in constant time. It returns the plaintext only
// when the sign matches. Errors wrap ErrBadEnvelope, ErrBadCiphertext or
// ErrBadSign (a plaintext that cannot be signed counts as ErrBadSign and also
// wraps ErrBadPlaintext).
//
// The bank's sign covers top-level scalars only, so nested objects
// (ATMParam, TSResultContent with the payment Status and Amount) are not
// signed, and CBC is malleable: a flipped ciphertext bit garbles one block
// and flips the same bit in the next. Refusing plaintext that is not valid
// UTF-8 catches nearly all such garbling (Go's JSON decoder would otherwise
// swap bad bytes for U+FFFD and accept it); TLS remains the real protection.
func Open(hashID string, env Envelope) ([]byte, error) {
	if env.Nonce == "" || env.Sign == "" || env.Message == "" {
		return nil, fmt.Errorf("%w: Nonce, Sign or Message missing", ErrBadEnvelope)
	}
	plain, err := Decrypt(hashID, env.Nonce, env.Message)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(plain) {
		return nil, fmt.Errorf("%w: plaintext is not UTF-8", ErrBadCiphertext)
	}
	ss, err := SignString(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSign, err)
	}
	want := signOf(ss, env.Nonce, hashID)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToUpper(env.Sign))) != 1 {
		return nil, ErrBadSign
	}
	return plain, nil
}

// openInto is Open followed by decoding the verified plaintext into v.
func openInto(hashID string, env Envelope, v any) error {
	plain, err := Open(hashID, env)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadPlaintext, env.APIService, err)
	}
	return nil
}
