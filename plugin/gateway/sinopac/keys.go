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

// PublishedKeys are hash values printed in public samples and SDK tests
// (sinopac.md §8: V1 BA0026_001, V2 NA0001_001, V3 the shared contest
// sandbox shop NA0249_001): anyone can sign with them, so production must
// never accept them.
var PublishedKeys = []Keys{
	{A1: "4D9709D699CA40EE", A2: "5A4FEF83140C4E9E", B1: "BC74301945134CB4", B2: "961F67F8FCA44AB9"},
	{A1: "65960834240E44B7", A2: "2831076A098E49E7", B1: "CB1AFFBF915A492B", B2: "7F242C0AA612454F"},
	{A1: "86D50DEF3EB7400E", A2: "01FD27C09E5549E5", B1: "9E004965F4244953", B2: "7FB3385F414E4F91"},
}

// PublishedShops are the sample and shared sandbox shop numbers.
var PublishedShops = []string{"BA0026_001", "NA0001_001", "NA0249_001"}

// Published reports whether shopNo or any of k's values is published.
func Published(shopNo string, k Keys) bool {
	for _, s := range PublishedShops {
		if strings.EqualFold(strings.TrimSpace(shopNo), s) {
			return true
		}
	}
	for _, p := range PublishedKeys {
		for _, pair := range [][2]string{{k.A1, p.A1}, {k.A2, p.A2}, {k.B1, p.B1}, {k.B2, p.B2}} {
			if strings.EqualFold(pair[0], pair[1]) {
				return true
			}
		}
	}
	return false
}
