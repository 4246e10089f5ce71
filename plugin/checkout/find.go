package checkout

import (
	"context"
	"crypto/subtle"
	"strings"
)

// OrderByEmail loads an order for a returning shopper who gives its number
// and the buyer's email. Either wrong (or an order kept without an email)
// is the same ErrOrderNotFound, so neither can be probed alone; the email
// is compared in constant time, ignoring case.
func (s *Store) OrderByEmail(ctx context.Context, orderNo, email string) (*Order, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	orderNo = strings.TrimSpace(orderNo)
	if len(orderNo) > 40 || len(email) > 254 || !oneLine(orderNo, 40) || !oneLine(email, 254) {
		return nil, ErrOrderNotFound // not text a number or an address could be
	}
	o, err := s.Order(ctx, strings.ToUpper(orderNo))
	if err != nil {
		return nil, err
	}
	if o.BuyerEmail == "" || email == "" || subtle.ConstantTimeCompare([]byte(strings.ToLower(o.BuyerEmail)), []byte(email)) != 1 {
		return nil, ErrOrderNotFound
	}
	return o, nil
}
