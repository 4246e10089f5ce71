package admin

import (
	"crypto/sha256"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twpay/twpay/plugin/checkout"
)

// filter is the order table's whole state as the URL carries it:
//
//	status, gateway, method   one value each ("" for all)
//	from, to                  dates, yyyy-mm-dd, Taiwan time, both included
//	q                         an order number, a trade number, the host's reference or an email
//	sort                      created (default) or amount; dir desc (default) or asc
//	per                       rows per page, 1-200 (default 50)
//	after / before            a signed cursor (next / previous page)
type filter struct {
	Status          checkout.Status
	Gateway, Method string
	FromDate        string // as given, for the form
	ToDate          string
	From, To        time.Time // [From, To) in UTC; zero: open
	Q               string
	Sort            string // "created" or "amount"
	Asc             bool
	Per             int

	After, Before string // raw cursors
}

const (
	sortCreated = "created"
	sortAmount  = "amount"
	defaultPer  = 50
	maxPer      = 200
	maxQ        = 200
)

// fieldError is one refused part of the URL: the form field and the
// message explaining it.
type fieldError struct{ Field, Message string }

var codeName = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)

// parseFilter reads the table's state from the query string. What it
// refuses comes back as field errors (localized by the page), never as a
// failure of ours.
func parseFilter(v url.Values) (filter, []fieldError) {
	f := filter{Sort: sortCreated, Per: defaultPer}
	var errs []fieldError
	bad := func(field, msg string) { errs = append(errs, fieldError{field, msg}) }
	one := func(name string) string {
		vs := v[name]
		if len(vs) > 1 {
			bad(name, "admin.filter.error.repeated")
		}
		if len(vs) == 0 {
			return ""
		}
		return strings.TrimSpace(vs[0])
	}
	if s := one("status"); s != "" {
		f.Status = checkout.Status(s)
		if !knownStatus(f.Status) {
			bad("status", "admin.filter.error.status")
		}
	}
	if f.Gateway = one("gateway"); f.Gateway != "" && !codeName.MatchString(f.Gateway) {
		bad("gateway", "admin.filter.error.gateway")
	}
	if f.Method = one("method"); f.Method != "" && !codeName.MatchString(f.Method) {
		bad("method", "admin.filter.error.method")
	}
	var err bool
	f.FromDate, f.ToDate = one("from"), one("to")
	if f.From, err = taipeiDay(f.FromDate); err {
		bad("from", "admin.filter.error.date")
	}
	if f.To, err = taipeiDay(f.ToDate); err {
		bad("to", "admin.filter.error.date")
	} else if !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1) // "to" includes its whole day
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		bad("to", "admin.filter.error.range")
	}
	f.Q = one("q")
	if len(f.Q) > maxQ || !utf8.ValidString(f.Q) || strings.ContainsRune(f.Q, 0) {
		bad("q", "admin.filter.error.q")
		f.Q = ""
	}
	switch s := one("sort"); s {
	case "", sortCreated:
	case sortAmount:
		f.Sort = sortAmount
	default:
		bad("sort", "admin.filter.error.sort")
	}
	switch d := one("dir"); d {
	case "", "desc":
	case "asc":
		f.Asc = true
	default:
		bad("dir", "admin.filter.error.sort")
	}
	if p := one("per"); p != "" {
		n, e := strconv.Atoi(p)
		if e != nil || n < 1 || n > maxPer {
			bad("per", "admin.filter.error.per")
		} else {
			f.Per = n
		}
	}
	f.After, f.Before = one("after"), one("before")
	if f.After != "" && f.Before != "" {
		bad("cursor", "admin.filter.error.cursor")
	}
	return f, errs
}

func knownStatus(s checkout.Status) bool {
	for _, st := range checkout.Statuses {
		if st == s {
			return true
		}
	}
	return false
}

// taipeiDay parses yyyy-mm-dd as the start of that day in Taiwan time
// (UTC+8, no daylight saving). "" is no bound; bad reports a malformed
// or implausible date.
func taipeiDay(s string) (t time.Time, bad bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("2006-01-02", s, checkout.Taipei)
	if err != nil || t.Year() < 2000 || t.Year() > 9998 {
		return time.Time{}, true
	}
	return t, false
}

// query is the URL query of this state (without cursors unless given),
// in a fixed order so equal states give equal links.
func (f filter) query(extra ...string) url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("status", string(f.Status))
	set("gateway", f.Gateway)
	set("method", f.Method)
	set("from", f.FromDate)
	set("to", f.ToDate)
	set("q", f.Q)
	if f.Sort != sortCreated {
		set("sort", f.Sort)
	}
	if f.Asc {
		set("dir", "asc")
	}
	if f.Per != defaultPer {
		set("per", strconv.Itoa(f.Per))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		set(extra[i], extra[i+1])
	}
	return v
}

// fingerprint binds a cursor to the state it pages through: a cursor
// pasted under another filter or sort is refused, not misread.
func (f filter) fingerprint() [8]byte {
	sum := sha256.Sum256([]byte(f.query().Encode()))
	var fp [8]byte
	copy(fp[:], sum[:])
	return fp
}

// filtered reports whether anything narrows the table.
func (f filter) filtered() bool {
	return f.Status != "" || f.Gateway != "" || f.Method != "" || !f.From.IsZero() || !f.To.IsZero() || f.Q != ""
}

// encodeQuery is url.Values.Encode (sorted keys: one state, one URL).
func encodeQuery(q url.Values) string { return q.Encode() }
