package sinopac

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// SignString builds the string the bank signs from a plaintext service object
// (spec §4): top-level members only; objects, arrays, null and empty or
// whitespace-only strings dropped; numbers kept as their JSON literal text
// (so 0 stays in); sorted case-insensitively; joined as Key=Value with '&',
// values raw (no URL-encoding).
//
// Booleans are refused (ErrBadPlaintext): the bank's .NET code would render
// them "True"/"False", which is unconfirmed, and no documented field is one.
// Duplicate keys keep the last value, as Go and .NET JSON decoders do.
func SignString(plain []byte) (string, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(plain, &members); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadPlaintext, err)
	}
	if members == nil {
		return "", fmt.Errorf("%w: not an object", ErrBadPlaintext)
	}
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(members))
	for k, raw := range members {
		raw = bytes.TrimSpace(raw)
		switch raw[0] {
		case '{', '[', 'n':
			continue
		case 't', 'f':
			return "", fmt.Errorf("%w: member %q is a boolean", ErrBadPlaintext, k)
		case '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", fmt.Errorf("%w: member %q: %v", ErrBadPlaintext, k, err)
			}
			if strings.TrimSpace(s) == "" {
				continue
			}
			pairs = append(pairs, pair{k, s})
		default: // number: its literal text, never re-formatted (3000000, not 3e+06)
			pairs = append(pairs, pair{k, string(raw)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int { return compareKeys(a.k, b.k) })
	var sb strings.Builder
	for i, p := range pairs {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(p.k)
		sb.WriteByte('=')
		sb.WriteString(p.v)
	}
	return sb.String(), nil
}

// compareKeys mirrors .NET StringComparer.OrdinalIgnoreCase, which the bank's
// sample uses: ASCII letters fold to UPPER case before a byte compare. That
// differs from lower-case folding only for [ \ ] ^ _ ` , which no documented
// field name contains. Names equal after folding fall back to ordinal order
// so the result is deterministic.
func compareKeys(a, b string) int {
	for i := range min(len(a), len(b)) {
		if c := cmp.Compare(upperASCII(a[i]), upperASCII(b[i])); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// Sign is upper-hex SHA-256(SignString(plain) + nonce + hashID).
func Sign(plain []byte, nonce, hashID string) (string, error) {
	ss, err := SignString(plain)
	if err != nil {
		return "", err
	}
	return signOf(ss, nonce, hashID), nil
}

func signOf(signString, nonce, hashID string) string {
	h := sha256.New()
	_, _ = io.WriteString(h, signString)
	_, _ = io.WriteString(h, nonce)
	_, _ = io.WriteString(h, hashID)
	var sum [sha256.Size]byte
	return upperHex(h.Sum(sum[:0]))
}
