package creditcenter

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
)

// Field is one hidden field of the auto-submitted form, in order.
type Field struct{ Name, Value string }

// Request is one payment the shop sends the shopper to pay.
type Request struct {
	OrderNo   string // od_sob: the shop's number for this attempt, never reused
	Amount    int64  // integer TWD (the page takes no decimals)
	ReturnURL string // roturl: the shopper's browser posts the result here
	NotifyURL string // bk_posturl: the gateway's server posts the result here
}

// OrderNoPattern is what this package sends and accepts as od_sob: 1-60
// letters, digits, '-', '_' or '.' (the seed's column is 60 characters).
var OrderNoPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,60}$`)

// MaxAmount bounds amount to what int64 arithmetic and the page take.
const MaxAmount = 99_999_999

// Form returns the fields to post to form_Sc_to5.php for r, in the order
// the vendor plugins send them: act=auth, client, od_sob, amount, roturl,
// bk_posturl. bk_posturl is always sent (creditcenter.md §10.1).
func (m Merchant) Form(r Request) ([]Field, error) {
	if !clientPattern.MatchString(m.Client) {
		return nil, fmt.Errorf("%w: client %q", ErrConfig, m.Client)
	}
	if !OrderNoPattern.MatchString(r.OrderNo) {
		return nil, fmt.Errorf("creditcenter: od_sob %q: want %s", r.OrderNo, OrderNoPattern)
	}
	if r.Amount <= 0 || r.Amount > MaxAmount {
		return nil, fmt.Errorf("creditcenter: amount %d TWD is not between 1 and %d", r.Amount, MaxAmount)
	}
	for name, u := range map[string]string{"roturl": r.ReturnURL, "bk_posturl": r.NotifyURL} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("creditcenter: %s %q is not an absolute http(s) URL", name, u)
		}
	}
	return []Field{
		{"act", "auth"},
		{"client", m.Client},
		{"od_sob", r.OrderNo},
		{"amount", strconv.FormatInt(r.Amount, 10)},
		{"roturl", r.ReturnURL},
		{"bk_posturl", r.NotifyURL},
	}, nil
}
