package creditcenter

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of ParseCallback and Merchant.Verify: a malformed body, and one
// whose spcheck does not match.
var (
	ErrMalformed = errors.New("creditcenter: malformed callback")
	ErrSPCheck   = errors.New("creditcenter: spcheck does not match")
)

// Callback is one result post (to roturl or bk_posturl), every field kept:
// the ones the spec names typed, digits checked where digits are due, and
// any other field raw in Extra. Card data is only ever first 6 / last 4.
type Callback struct {
	Client       string // merchant number
	Succ         bool   // succ=1: authorised; succ=0: failed
	Gwsr         string // the gateway's authorisation serial, ≤10 digits ("" on some failures)
	ResponseCode string // bank / gateway result code
	ResponseMsg  string // its text: for the log only, never shown as is
	ProcessDate  string // yyyymmdd
	ProcessTime  string // hhmmss
	OrderNo      string // od_sob, the shop's number echoed
	AuthCode     string // bank approval code
	Amount       int64  // integer TWD echoed
	OdHoho       string // free-text echo (≤500)
	ECI          string // 3-D Secure ECI
	RedDan       int64  // bonus points used
	RedDeAmt     int64  // amount offset by points
	RedOkAmt     int64  // amount actually charged
	RedYet       int64  // points left
	RechKey      string // per-transaction key for g_recheck
	Inspect      string // keyed MD5 (variant unconfirmed, creditcenter.md §5c): kept, not checked
	SPCheck      int64  // the posted check value
	Card6, Card4 string // first 6 / last 4 digits of the card
	ExpireDt     string // card expiry, 4 characters (format unconfirmed)
	InvError     string // e-invoice result: "0" issued, "" none, else an error code
	// Extra holds every other field as posted (stage, stast, staed, allsn,
	// inv_code, email, ...: seen in some feeds only).
	Extra map[string]string
}

// Known field names, in the order Fields lists them.
var known = []string{"client", "succ", "gwsr", "response_code", "response_msg", "process_date", "process_time",
	"od_sob", "auth_code", "amount", "od_hoho", "eci", "red_dan", "red_de_amt", "red_ok_amt", "red_yet",
	"rech_key", "inspect", "spcheck", "card4no", "card6no", "expire_dt", "inv_error"}

var (
	digits       = regexp.MustCompile(`^[0-9]+$`)
	amountDigits = regexp.MustCompile(`^[0-9]{1,12}$`)
)

// maxLen bounds the free-text fields in characters of the text kept, a
// little above the seed's own column sizes (which are its guesses,
// creditcenter.md §4).
var maxLen = map[string]int{"response_code": 16, "response_msg": 400, "auth_code": 16, "od_hoho": 2000,
	"eci": 4, "rech_key": 128, "inspect": 128, "expire_dt": 8, "inv_error": 16}

// ParseCallback reads a form-encoded result post strictly: every field at
// most once; client 1-6 digits; succ 0 or 1; od_sob as OrderNoPattern;
// amount, gwsr and spcheck digits only (gwsr may be empty only when succ
// is 0); process_date a real yyyymmdd and process_time a real hhmmss;
// red_* digits or empty; card6no/card4no exactly 6/4 digits or empty;
// free text made valid UTF-8 and bounded in characters (the page's text
// encoding is unconfirmed: Big5 bytes become U+FFFD, the raw body keeps
// them).
func ParseCallback(body []byte) (*Callback, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	f := make(map[string]string, len(vals))
	for k, vs := range vals {
		if len(vs) != 1 {
			return nil, fmt.Errorf("%w: field %q sent %d times", ErrMalformed, k, len(vs))
		}
		f[k] = vs[0]
	}
	return FromFields(f)
}

// FromFields is ParseCallback on already decoded single-valued fields.
func FromFields(f map[string]string) (*Callback, error) {
	bad := func(format string, args ...any) (*Callback, error) {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	for _, name := range []string{"client", "succ", "od_sob", "amount", "process_date", "process_time", "spcheck"} {
		if _, ok := f[name]; !ok {
			return bad("%s is missing", name)
		}
	}
	cb := &Callback{Extra: map[string]string{}}
	for k, v := range f {
		if !isKnown(k) {
			if !utf8.ValidString(k) || len(k) > 64 {
				return bad("a field name is not short UTF-8 text")
			}
			cb.Extra[k] = strings.ToValidUTF8(v, "\uFFFD")
		}
	}
	cb.Client = f["client"]
	if !clientPattern.MatchString(cb.Client) {
		return bad("client %q is not 1-6 digits", cb.Client)
	}
	switch f["succ"] {
	case "1":
		cb.Succ = true
	case "0":
	default:
		return bad("succ %q is neither 0 nor 1", f["succ"])
	}
	cb.OrderNo = f["od_sob"]
	if !OrderNoPattern.MatchString(cb.OrderNo) {
		return bad("od_sob %q", cb.OrderNo)
	}
	if !amountDigits.MatchString(f["amount"]) {
		return bad("amount %q is not digits", f["amount"])
	}
	cb.Amount, _ = strconv.ParseInt(f["amount"], 10, 64)
	if cb.Amount <= 0 || cb.Amount > MaxAmount {
		return bad("amount %d is out of range", cb.Amount)
	}
	cb.Gwsr = f["gwsr"]
	switch {
	case cb.Gwsr == "" && !cb.Succ: // UNCONFIRMED: whether a failure carries a serial
	case len(cb.Gwsr) > 10 || !digits.MatchString(cb.Gwsr):
		return bad("gwsr %q is not 1-10 digits", cb.Gwsr)
	}
	cb.ProcessDate, cb.ProcessTime = f["process_date"], f["process_time"]
	if _, err := time.Parse("20060102", cb.ProcessDate); err != nil || len(cb.ProcessDate) != 8 {
		return bad("process_date %q is not yyyymmdd", cb.ProcessDate)
	}
	if _, err := time.Parse("150405", cb.ProcessTime); err != nil || len(cb.ProcessTime) != 6 {
		return bad("process_time %q is not hhmmss", cb.ProcessTime)
	}
	sp := f["spcheck"]
	if len(sp) > 18 || !digits.MatchString(sp) {
		return bad("spcheck %q is not digits", sp)
	}
	cb.SPCheck, _ = strconv.ParseInt(sp, 10, 64)
	for name, dst := range map[string]*int64{"red_dan": &cb.RedDan, "red_de_amt": &cb.RedDeAmt, "red_ok_amt": &cb.RedOkAmt, "red_yet": &cb.RedYet} {
		v := f[name]
		if v == "" {
			continue
		}
		if !amountDigits.MatchString(v) {
			return bad("%s %q is not digits", name, v)
		}
		*dst, _ = strconv.ParseInt(v, 10, 64)
	}
	cb.Card6, cb.Card4 = f["card6no"], f["card4no"]
	if cb.Card6 != "" && (len(cb.Card6) != 6 || !digits.MatchString(cb.Card6)) {
		return bad("card6no is not 6 digits")
	}
	if cb.Card4 != "" && (len(cb.Card4) != 4 || !digits.MatchString(cb.Card4)) {
		return bad("card4no is not 4 digits")
	}
	for name, dst := range map[string]*string{"response_code": &cb.ResponseCode, "response_msg": &cb.ResponseMsg,
		"auth_code": &cb.AuthCode, "od_hoho": &cb.OdHoho, "eci": &cb.ECI, "rech_key": &cb.RechKey,
		"inspect": &cb.Inspect, "expire_dt": &cb.ExpireDt, "inv_error": &cb.InvError} {
		// The bound is on the text as kept, in characters: a Big5 byte
		// becomes a 3-byte U+FFFD, so a bound on the posted bytes let
		// 400 bytes become 800 (found by FuzzParseCallback).
		v := strings.ToValidUTF8(f[name], "\uFFFD")
		if utf8.RuneCountInString(v) > maxLen[name] {
			return bad("%s is longer than %d characters", name, maxLen[name])
		}
		*dst = v
	}
	if strings.ContainsAny(cb.RechKey, " \r\n\t") {
		return bad("rech_key contains white space")
	}
	return cb, nil
}

func isKnown(name string) bool {
	for _, k := range known {
		if k == name {
			return true
		}
	}
	return false
}

// Serial is g_recheck's serial: process_date + process_time + gwsr.
func (cb *Callback) Serial() string { return cb.ProcessDate + cb.ProcessTime + cb.Gwsr }

// Fields returns every field as the gateway posts it (spcheck as given,
// Extra included): for a stand-in gateway and for test fixtures.
func (cb *Callback) Fields() map[string]string {
	f := make(map[string]string, len(known)+len(cb.Extra))
	for k, v := range cb.Extra {
		f[k] = v
	}
	succ := "0"
	if cb.Succ {
		succ = "1"
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for k, v := range map[string]string{"client": cb.Client, "succ": succ, "gwsr": cb.Gwsr, "response_code": cb.ResponseCode,
		"response_msg": cb.ResponseMsg, "process_date": cb.ProcessDate, "process_time": cb.ProcessTime, "od_sob": cb.OrderNo,
		"auth_code": cb.AuthCode, "amount": n(cb.Amount), "od_hoho": cb.OdHoho, "eci": cb.ECI, "red_dan": n(cb.RedDan),
		"red_de_amt": n(cb.RedDeAmt), "red_ok_amt": n(cb.RedOkAmt), "red_yet": n(cb.RedYet), "rech_key": cb.RechKey,
		"inspect": cb.Inspect, "spcheck": n(cb.SPCheck), "card4no": cb.Card4, "card6no": cb.Card6,
		"expire_dt": cb.ExpireDt, "inv_error": cb.InvError} {
		f[k] = v
	}
	return f
}

// Encode is the form body the gateway would post for cb.
func (cb *Callback) Encode() string {
	v := url.Values{}
	for k, val := range cb.Fields() {
		v.Set(k, val)
	}
	return v.Encode()
}
