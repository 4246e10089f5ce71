package sinopac

import "strings"

const upperDigits = "0123456789ABCDEF"

// upperHex is hex.EncodeToString in upper case with a single allocation; the
// bank emits and expects upper-case hex for HashID, IV, Sign and Message.
func upperHex(b []byte) string {
	var sb strings.Builder
	sb.Grow(2 * len(b))
	for _, c := range b {
		sb.WriteByte(upperDigits[c>>4])
		sb.WriteByte(upperDigits[c&0x0f])
	}
	return sb.String()
}
