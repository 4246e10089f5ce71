package ecpay

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
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

// dotNetRestore undoes Go's escaping of the characters that .NET's
// HttpUtility.UrlEncode leaves alone. Input is already lower-cased.
var dotNetRestore = strings.NewReplacer("%21", "!", "%2a", "*", "%28", "(", "%29", ")")

// Encode URL-encodes s the way ECPay's .NET HttpUtility.UrlEncode does, then
// lower-cases it: A-Z a-z 0-9 - _ . ! * ( ) stay, space becomes '+', every
// other UTF-8 byte (including '~') becomes %xx.
func Encode(s string) string {
	e := strings.ReplaceAll(url.QueryEscape(s), "~", "%7E")
	return dotNetRestore.Replace(strings.ToLower(e))
}

// CheckMacValue signs every field except CheckMacValue itself, empty ones
// included, with names sorted case-insensitively (callbacks carry lower-case
// extras such as gwsr and card4no, which a case-sensitive sort misplaces).
func CheckMacValue(fields map[string]string, hashKey, hashIV string, alg Algorithm) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		if name != MACField {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		li, lj := strings.ToLower(names[i]), strings.ToLower(names[j])
		if li != lj {
			return li < lj
		}
		return names[i] < names[j]
	})

	var b strings.Builder
	b.WriteString("HashKey=")
	b.WriteString(hashKey)
	for _, name := range names {
		b.WriteByte('&')
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(fields[name])
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
