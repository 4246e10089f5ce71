package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// cursor is a keyset position in the order table: the sort key and id of
// the row a page starts after (or, Back, before), bound to the filter it
// was made for. On the wire it is opaque: 8 bytes key, 8 bytes id, 1 byte
// direction, 8 bytes of the filter's fingerprint, then 16 bytes of
// HMAC-SHA256 over all of it, in unpadded base64url.
type cursor struct {
	Key  int64 // created_at in Unix microseconds, or the amount
	ID   int64
	Back bool // the page ends before this row (a "previous" link)
}

const cursorBody = 8 + 8 + 1 + 8
const cursorMAC = 16

var errBadCursor = errors.New("admin: invalid cursor")

// cursors signs and checks cursors with a key of their own.
type cursors struct{ key []byte }

func (cs cursors) encode(c cursor, fingerprint [8]byte) string {
	b := make([]byte, cursorBody, cursorBody+cursorMAC)
	binary.BigEndian.PutUint64(b[0:], uint64(c.Key))
	binary.BigEndian.PutUint64(b[8:], uint64(c.ID))
	if c.Back {
		b[16] = 1
	}
	copy(b[17:], fingerprint[:])
	b = append(b, cs.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decode returns the cursor when s is one we signed for this very filter;
// anything else (edited, truncated, from another filter) is errBadCursor.
func (cs cursors) decode(s string, fingerprint [8]byte) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	// Only our own spelling: the decoder ignores CR/LF and a last
	// character's unused bits, which gave one cursor several URLs.
	if err != nil || len(b) != cursorBody+cursorMAC || b[16] > 1 || base64.RawURLEncoding.EncodeToString(b) != s {
		return cursor{}, errBadCursor
	}
	if !hmac.Equal(b[cursorBody:], cs.mac(b[:cursorBody])) {
		return cursor{}, errBadCursor
	}
	if !hmac.Equal(b[17:cursorBody], fingerprint[:]) {
		return cursor{}, errBadCursor
	}
	c := cursor{Key: int64(binary.BigEndian.Uint64(b[0:])), ID: int64(binary.BigEndian.Uint64(b[8:])), Back: b[16] == 1}
	if c.ID <= 0 {
		return cursor{}, errBadCursor
	}
	return c, nil
}

func (cs cursors) mac(b []byte) []byte {
	m := hmac.New(sha256.New, cs.key)
	m.Write(b)
	return m.Sum(nil)[:cursorMAC]
}
