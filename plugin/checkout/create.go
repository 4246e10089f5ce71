package checkout

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// ErrInvalidOrder wraps every reason an OrderRequest is refused.
var ErrInvalidOrder = errors.New("checkout: invalid order")

// MaxAmount bounds one order (integer TWD): above every gateway's limit,
// below anything that could overflow a sum.
const MaxAmount = 100_000_000

// OrderRequest is an order priced by the host (its own cart) or by a plan
// of the catalogue.
type OrderRequest struct {
	Amount      int64      // integer TWD; must equal the items' sum when items are given
	Items       []LineItem // optional line items
	Description string     // what is bought, shown to the shopper and the gateway (or the items)
	Reference   string     // the host's own reference; comes back in every side effect
	BuyerEmail  string
	BuyerName   string
	Lang        string // zh-TW or en
	ReturnURL   string // where the shopper goes afterwards: absolute http(s) URL or a path
	PlanID      *int64 // a catalogue plan (the demo shop); its price must equal Amount
	// GroupPurchase: one order for a group, which counts two confirmed
	// purchases of its plan once paid (the seed's group registration).
	GroupPurchase bool
}

// validate checks r and returns it normalised.
func (r OrderRequest) validate() (OrderRequest, error) {
	bad := func(format string, args ...any) (OrderRequest, error) {
		return r, fmt.Errorf("%w: %s", ErrInvalidOrder, fmt.Sprintf(format, args...))
	}
	r.Description, r.Reference = strings.TrimSpace(r.Description), strings.TrimSpace(r.Reference)
	r.BuyerEmail, r.BuyerName = strings.TrimSpace(r.BuyerEmail), strings.TrimSpace(r.BuyerName)
	if r.Amount <= 0 || r.Amount > MaxAmount {
		return bad("amount %d TWD is not between 1 and %d", r.Amount, MaxAmount)
	}
	var sum int64
	for i, it := range r.Items {
		it.Name = strings.TrimSpace(it.Name)
		r.Items[i] = it
		if it.Name == "" || it.Quantity <= 0 || it.UnitPrice <= 0 || it.Quantity > MaxAmount || it.UnitPrice > MaxAmount {
			return bad("item %d needs a name, a positive quantity and a positive unit price", i+1)
		}
		sum += it.Quantity * it.UnitPrice
		if sum > MaxAmount {
			return bad("items add up to more than %d TWD", MaxAmount)
		}
	}
	if len(r.Items) > 0 && sum != r.Amount {
		return bad("items add up to %d TWD, amount is %d TWD", sum, r.Amount)
	}
	if r.Description == "" && len(r.Items) == 0 && r.PlanID == nil {
		return bad("a description or line items are required")
	}
	for name, v := range map[string]string{"description": r.Description, "reference": r.Reference, "buyer name": r.BuyerName} {
		if !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\r\n") || utf8.RuneCountInString(v) > 200 {
			return bad("%s must be one line of at most 200 characters", name)
		}
	}
	if r.BuyerEmail != "" {
		if a, err := mail.ParseAddress(r.BuyerEmail); err != nil || a.Address != r.BuyerEmail || len(r.BuyerEmail) > 254 {
			return bad("buyer email %q is not an address", r.BuyerEmail)
		}
	}
	if r.ReturnURL != "" {
		u, err := url.Parse(r.ReturnURL)
		abs := err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
		path := err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(r.ReturnURL, "/") && !strings.HasPrefix(r.ReturnURL, "//")
		if !abs && !path {
			return bad("return URL %q must be an absolute http(s) URL or a path", r.ReturnURL)
		}
	}
	if r.Lang != "en" {
		r.Lang = "zh-TW"
	}
	return r, nil
}

// CreateOrder creates a pending order with no attempt yet: the shopper
// picks a payment method next. A catalogue order's plan must exist and its
// price equal the amount.
func (s *Store) CreateOrder(ctx context.Context, req OrderRequest) (*Order, error) {
	req, err := req.validate()
	if err != nil {
		return nil, err
	}
	var plan *Plan
	if req.PlanID != nil {
		if plan, err = s.Plan(ctx, *req.PlanID); err != nil {
			return nil, err
		}
		if plan.Price != req.Amount {
			return nil, ErrAmountMismatch
		}
	}
	var order *Order
	err = s.retryOnCollision(ctx, func(tx bun.Tx) error {
		order = s.newOrder(req)
		_, err := tx.NewInsert().Model(order).Returning("*").Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	order.Plan = plan
	return order, nil
}

func (s *Store) newOrder(req OrderRequest) *Order {
	items := req.Items
	if items == nil {
		items = []LineItem{}
	}
	return &Order{
		OrderNo: s.newOrderNo(), AccessToken: randomHex(16), PlanID: req.PlanID,
		Amount: req.Amount, Currency: "TWD", Description: req.Description, Items: items,
		Reference: req.Reference, BuyerEmail: req.BuyerEmail, BuyerName: req.BuyerName,
		ReturnURL: req.ReturnURL, Status: Pending, Lang: req.Lang, GroupPurchase: req.GroupPurchase,
	}
}
