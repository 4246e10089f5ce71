package sinopac

import "time"

// Taipei is Taiwan time, UTC+8. Taiwan has no DST, so a fixed zone avoids a
// tzdata dependency. That the bank's date-times are Taiwan local time is
// inferred from samples, not documented (unconfirmed, spec §9).
var Taipei = time.FixedZone("UTC+8", 8*60*60)

// Wire layouts: yyyyMMdd and yyyyMMddHHmm.
const (
	DateLayout     = "20060102"
	DateTimeLayout = "200601021504"
)

// FormatDate renders t as yyyyMMdd in Taiwan time (e.g. ATMParam.ExpireDate).
func FormatDate(t time.Time) string { return t.In(Taipei).Format(DateLayout) }

// FormatDateTime renders t as yyyyMMddHHmm in Taiwan time (OrderQuery ranges).
func FormatDateTime(t time.Time) string { return t.In(Taipei).Format(DateTimeLayout) }

// ParseDate parses yyyyMMdd as a Taiwan date.
func ParseDate(s string) (time.Time, error) { return time.ParseInLocation(DateLayout, s, Taipei) }

// ParseDateTime parses yyyyMMddHHmm (Date, PayDate, ExpireDate ...) as Taiwan time.
func ParseDateTime(s string) (time.Time, error) {
	return time.ParseInLocation(DateTimeLayout, s, Taipei)
}
