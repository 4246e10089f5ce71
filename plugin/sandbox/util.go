package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Helpers both stand-ins share.

// randomHex returns 2n random lower-case hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails (Go >= 1.24)
	return hex.EncodeToString(b)
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

// sleepCtx waits d, and reports false if ctx ended first (or, for d <= 0,
// had already ended).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Card forms. Both stand-ins' payment pages take a card number, an expiry
// and a CVV. The full number lives only in the checking call's locals: it
// is never stored, logged or echoed into a page. The expiry rules differ
// per gateway and are checked by each stand-in.

// testCardNumber reads a card number as a shopper types it (spaces and
// dashes allowed) and accepts only one of testCards. It returns the
// digits, or the form error.
func testCardNumber(typed string, testCards ...string) (number, formErr string) {
	number = strings.NewReplacer(" ", "", "-", "").Replace(typed)
	if len(number) < 12 || len(number) > 19 || strings.Trim(number, "0123456789") != "" {
		return "", "卡號格式錯誤 Card number must be 12-19 digits"
	}
	if !slices.Contains(testCards, number) {
		return "", "此卡號不是模擬環境的測試卡 This card number is not one of the sandbox's test cards"
	}
	return number, ""
}

// cardCVV accepts 3 digits, surrounding spaces ignored. It returns the
// digits, or the form error.
func cardCVV(typed string) (cvv, formErr string) {
	cvv = strings.TrimSpace(typed)
	if len(cvv) != 3 || strings.Trim(cvv, "0123456789") != "" {
		return "", "安全碼錯誤 CVV must be 3 digits"
	}
	return cvv, ""
}

// maskCard renders a kept card (first 6 and last 4 digits) as
// 400355******1111, or "" when no card was kept.
func maskCard(card6, card4 string) string {
	if card4 == "" {
		return ""
	}
	return card6 + "******" + card4
}
