package ecpay

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sort"
	"strings"
)

// Algorithm selects the CheckMacValue hash. AIO V5 uses SHA256
// (EncryptType=1); MD5 survives in e-invoice and logistics APIs.
type Algorithm int

const (
	SHA256 Algorithm = iota
	MD5
)

// MACField is the name of the signature field, never part of what is signed.
const MACField = "CheckMacValue"

// Encode URL-encodes s the way ECPay's .NET HttpUtility.UrlEncode does, then
// lower-cases it: A-Z a-z 0-9 - _ . ! * ( ) stay, space becomes '+', every
// other UTF-8 byte (including '~') becomes %xx. One pass, lower-case output.
func Encode(s string) string {
	const hexDigits = "0123456789abcdef"
	b := make([]byte, 0, len(s)+len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			b = append(b, c+('a'-'A'))
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			b = append(b, c)
		case c == '-' || c == '_' || c == '.' || c == '!' || c == '*' || c == '(' || c == ')':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return string(b)
}

// CheckMacValue signs every field except CheckMacValue itself, empty ones
// included, with names sorted case-insensitively (callbacks carry lower-case
// extras such as gwsr and card4no, which a case-sensitive sort misplaces).
func CheckMacValue(fields map[string]string, hashKey, hashIV string, alg Algorithm) string {
	type name struct{ lower, orig string }
	names := make([]name, 0, len(fields))
	for n := range fields {
		if n != MACField {
			names = append(names, name{strings.ToLower(n), n})
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if names[i].lower != names[j].lower {
			return names[i].lower < names[j].lower
		}
		return names[i].orig < names[j].orig
	})

	var b strings.Builder
	b.WriteString("HashKey=")
	b.WriteString(hashKey)
	for _, n := range names {
		b.WriteByte('&')
		b.WriteString(n.orig)
		b.WriteByte('=')
		b.WriteString(fields[n.orig])
	}
	b.WriteString("&HashIV=")
	b.WriteString(hashIV)

	encoded := []byte(Encode(b.String()))
	if alg == MD5 {
		sum := md5.Sum(encoded)
		return strings.ToUpper(hex.EncodeToString(sum[:]))
	}
	sum := sha256.Sum256(encoded)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// macEqual compares two hex MACs case-insensitively in constant time.
func macEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToUpper(got)), []byte(want)) == 1
}
