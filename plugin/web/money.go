package web

import "strconv"

// TWD formats an integer amount with thousands separators: 12000 -> "12,000".
func TWD(amount int64) string {
	s := strconv.FormatInt(amount, 10)
	neg := ""
	if amount < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}
