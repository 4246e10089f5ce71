package sinopac

import (
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Keys are the shop's four hash values. They are secret: every way of
// printing, logging or JSON-encoding a Keys value yields "[redacted]".
type Keys struct {
	A1, A2, B1, B2 string
}

const redacted = "[redacted]"

func (Keys) String() string               { return "sinopac.Keys{" + redacted + "}" }
func (k Keys) GoString() string           { return k.String() }
func (Keys) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Keys) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Format covers the verbs String does not (%d, %x on fields, %+v ...).
func (k Keys) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// HashID is HEX(A1 xor A2) ‖ HEX(B1 xor B2): 32 upper-case hex characters,
// zero-padded (XOR-ing as integers and printing unpadded drops leading zeros,
// a bug seen in the wild). Its 32 ASCII bytes are the AES-256 key.
func (k Keys) HashID() (string, error) {
	var v [4][8]byte
	for i, p := range [4]struct{ name, s string }{{"A1", k.A1}, {"A2", k.A2}, {"B1", k.B1}, {"B2", k.B2}} {
		if err := decodeKey(p.name, p.s, &v[i]); err != nil {
			return "", err
		}
	}
	var x [16]byte
	for i := range 8 {
		x[i] = v[0][i] ^ v[1][i]
		x[8+i] = v[2][i] ^ v[3][i]
	}
	return upperHex(x[:]), nil
}

// decodeKey normalises like the bank's .NET sample: trim, strip '-', keep
// the first 16 hex digits. Keys may be issued GUID-formatted (unconfirmed).
// The error names the field but never echoes its value.
func decodeKey(name, s string, dst *[8]byte) error {
	s = strings.ReplaceAll(strings.TrimSpace(s), "-", "")
	if len(s) < 16 {
		return fmt.Errorf("%w: %s has fewer than 16 hex digits", ErrBadKey, name)
	}
	if _, err := hex.Decode(dst[:], []byte(s[:16])); err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrBadKey, name)
	}
	return nil
}
