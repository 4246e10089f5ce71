package checkout

import (
	"context"
	"errors"
	"fmt"
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

	BuyerPhone string // optional, checked like the checkout form's (Buyer.Check)
	// Taiwan e-invoice preferences, kept for a later e-invoice
	// integration (see Buyer): a carrier ("", mobile, citizen, donate) and
	// its code, or a company's tax ID (統一編號) and name.
	InvoiceCarrier, InvoiceCode, InvoiceTaxID, InvoiceCompany string
	// IdempotencyKey: the same key again returns the order the first
	// request created, nothing new (a host's retry). Optional.
	IdempotencyKey string
}

// validate checks r and returns it normalised.
func (r OrderRequest) validate() (OrderRequest, error) {
	bad := func(format string, args ...any) (OrderRequest, error) {
		return r, fmt.Errorf("%w: %s", ErrInvalidOrder, fmt.Sprintf(format, args...))
	}
	r.Description, r.Reference = strings.TrimSpace(r.Description), strings.TrimSpace(r.Reference)
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
	for name, v := range map[string]string{"description": r.Description, "reference": r.Reference, "idempotency key": r.IdempotencyKey} {
		if !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\r\n") || utf8.RuneCountInString(v) > 200 {
			return bad("%s must be one line of at most 200 characters", name)
		}
	}
	// The host's buyer: the checkout form's rules, but name and email
	// only when given.
	b, errs := r.buyer().Check(false)
	if errs != nil {
		return r, errs
	}
	r.setBuyer(b)
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

func (r OrderRequest) buyer() Buyer {
	return Buyer{Name: r.BuyerName, Email: r.BuyerEmail, Phone: r.BuyerPhone, Carrier: r.InvoiceCarrier,
		CarrierCode: r.InvoiceCode, TaxID: r.InvoiceTaxID, CompanyName: r.InvoiceCompany}
}

func (r *OrderRequest) setBuyer(b Buyer) {
	r.BuyerName, r.BuyerEmail, r.BuyerPhone = b.Name, b.Email, b.Phone
	r.InvoiceCarrier, r.InvoiceCode, r.InvoiceTaxID, r.InvoiceCompany = b.Carrier, b.CarrierCode, b.TaxID, b.CompanyName
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
		return insertOrder(ctx, tx, order)
	})
	if errors.Is(err, errKeyUsed) {
		return s.orderByKey(ctx, req.IdempotencyKey)
	}
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
	o := &Order{
		OrderNo: s.newOrderNo(), AccessToken: randomHex(16), PlanID: req.PlanID,
		Amount: req.Amount, Currency: "TWD", Description: req.Description, Items: items,
		Reference: req.Reference, IdempotencyKey: req.IdempotencyKey,
		ReturnURL: req.ReturnURL, Status: Pending, Lang: req.Lang, GroupPurchase: req.GroupPurchase,
	}
	o.setBuyer(req.buyer())
	return o
}

// errKeyUsed: an order with the request's idempotency key exists already
// (its transaction committed while ours waited on the unique index).
var errKeyUsed = errors.New("checkout: idempotency key used")

// insertOrder inserts o, or answers errKeyUsed when its idempotency key
// belongs to another order: concurrent inserts of one key wait on the
// unique index for the first to commit, then insert nothing.
func insertOrder(ctx context.Context, tx bun.Tx, o *Order) error {
	q := tx.NewInsert().Model(o).Returning("*")
	if o.IdempotencyKey != "" {
		q = q.On("CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING")
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errKeyUsed
	}
	return nil
}

// orderByKey loads the order an idempotency key created, with its attempts.
func (s *Store) orderByKey(ctx context.Context, key string) (*Order, error) {
	var no string
	if err := s.db.NewSelect().Model((*Order)(nil)).Column("order_no").Where("idempotency_key = ?", key).Scan(ctx, &no); err != nil {
		return nil, err
	}
	return s.Order(ctx, no)
}
