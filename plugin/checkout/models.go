package checkout

import (
	"time"

	"github.com/uptrace/bun"
)

// LocalText is shop content in several languages, keyed by language tag
// ("zh-TW", "en"). Handlers pick the shopper's language.
type LocalText map[string]string

// In picks the text in lang, falling back to zh-TW, then to any language.
func (t LocalText) In(lang string) string {
	if s := t[lang]; s != "" {
		return s
	}
	if s := t["zh-TW"]; s != "" {
		return s
	}
	for _, s := range t {
		return s
	}
	return ""
}

// Service is a catalog entry with its plans.
type Service struct {
	bun.BaseModel `bun:"table:services"`

	ID          int64     `bun:",pk,autoincrement"`
	Slug        string    `bun:",notnull"`
	Title       LocalText `bun:",type:jsonb,notnull"`
	Description LocalText `bun:",type:jsonb,notnull"`
	Position    int       `bun:",notnull"`
	Active      bool      `bun:",notnull"`
	CreatedAt   time.Time `bun:",nullzero,notnull,default:current_timestamp"`

	Plans []*Plan `bun:"rel:has-many,join:id=service_id"`
}

// Tier is a plan level.
type Tier string

const (
	Standard Tier = "standard"
	Premium  Tier = "premium"
)

// Plan is a priced offer of a service. Price is integer TWD.
type Plan struct {
	bun.BaseModel `bun:"table:plans"`

	ID           int64     `bun:",pk,autoincrement"`
	ServiceID    int64     `bun:",notnull"`
	Tier         Tier      `bun:",notnull"`
	Title        LocalText `bun:",type:jsonb,notnull"`
	Description  LocalText `bun:",type:jsonb,notnull"`
	Price        int64     `bun:",notnull"`
	DeliveryDays int       `bun:",notnull"`
	Active       bool      `bun:",notnull"`
	// ConfirmedPurchases counts paid orders of the plan (a group purchase
	// counts two), raised in the transaction that pays each order.
	ConfirmedPurchases int `bun:",notnull"`

	Service *Service `bun:"rel:belongs-to,join:service_id=id"`
}

// Order is what the shopper buys. It keeps its number for life.
type Order struct {
	bun.BaseModel `bun:"table:orders"`

	ID               int64      `bun:",pk,autoincrement"`
	OrderNo          string     `bun:",notnull"`
	AccessToken      string     `bun:",notnull"`
	PlanID           *int64     `bun:""` // nil for a host-priced order
	Amount           int64      `bun:",notnull"`
	Currency         string     `bun:",notnull,default:'TWD'"`
	Description      string     `bun:",notnull"`
	Items            []LineItem `bun:",type:jsonb,notnull,default:'[]'"`
	Reference        string     `bun:",notnull"` // the host's own reference
	BuyerEmail       string     `bun:",notnull"`
	BuyerName        string     `bun:",notnull"`
	BuyerPhone       string     `bun:",notnull"`
	InvoiceCarrier   string     `bun:",notnull"` // "", mobile, citizen, donate (see Buyer)
	InvoiceCode      string     `bun:",notnull"`
	InvoiceTaxID     string     `bun:"invoice_tax_id,notnull"` // 統一編號
	InvoiceCompany   string     `bun:",notnull"`
	IdempotencyKey   string     `bun:",nullzero"` // the selection form's key (Place); NULL when none
	ReturnURL        string     `bun:"return_url,notnull"`
	GroupPurchase    bool       `bun:",notnull"` // counts two confirmed purchases (the seed's group registration)
	Gateway          string     `bun:",notnull"`
	Method           string     `bun:",notnull"`
	Status           Status     `bun:",notnull"`
	Lang             string     `bun:",notnull"`
	CurrentAttemptID *int64     `bun:""`
	CreatedAt        time.Time  `bun:",nullzero,notnull,default:current_timestamp"`
	UpdatedAt        time.Time  `bun:",nullzero,notnull,default:current_timestamp"`
	PaidAt           *time.Time
	FailedAt         *time.Time

	Plan     *Plan      `bun:"rel:belongs-to,join:plan_id=id"`
	Attempts []*Attempt `bun:"rel:has-many,join:id=order_id"`
}

// Buyer returns the order's buyer details.
func (o *Order) Buyer() Buyer {
	return Buyer{Name: o.BuyerName, Email: o.BuyerEmail, Phone: o.BuyerPhone, Carrier: o.InvoiceCarrier,
		CarrierCode: o.InvoiceCode, TaxID: o.InvoiceTaxID, CompanyName: o.InvoiceCompany}
}

func (o *Order) setBuyer(b Buyer) {
	o.BuyerName, o.BuyerEmail, o.BuyerPhone = b.Name, b.Email, b.Phone
	o.InvoiceCarrier, o.InvoiceCode, o.InvoiceTaxID, o.InvoiceCompany = b.Carrier, b.CarrierCode, b.TaxID, b.CompanyName
}

// HandoffForm is a form the shopper's browser posts to a gateway (no
// secret: the browser sees every field), or a hosted page to redirect to.
type HandoffForm struct {
	Action   string      `json:"action,omitempty"`
	Fields   []FormField `json:"fields,omitempty"`
	Redirect string      `json:"redirect,omitempty"`
}

// FormField is one hidden field of a HandoffForm.
type FormField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// LineItem is one line of a host-priced order. UnitPrice is integer TWD.
type LineItem struct {
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// Attempt is one try at paying an order, with its own merchant trade number.
type Attempt struct {
	bun.BaseModel `bun:"table:payment_attempts,alias:a"`

	ID              int64          `bun:",pk,autoincrement"`
	OrderID         int64          `bun:",notnull"`
	Seq             int            `bun:",notnull"`
	Gateway         string         `bun:",notnull"`
	Method          string         `bun:",notnull"`
	MerchantID      string         `bun:",notnull"`
	MerchantTradeNo string         `bun:",notnull"`
	GatewayTradeNo  string         `bun:",notnull"`
	Amount          int64          `bun:",notnull"`
	Status          Status         `bun:",notnull"`
	PayURL          string         `bun:"pay_url,notnull"`
	ResultCode      string         `bun:",notnull"`
	PaymentType     string         `bun:",notnull"`
	Card6           string         `bun:"card6,notnull"`
	Card4           string         `bun:"card4,notnull"`
	Info            map[string]any `bun:",type:jsonb,notnull"`
	FormKey         string         `bun:",nullzero"` // the retry form's idempotency key (AttemptSpec.FormKey); NULL when none

	// GatewayPaymentID is the gateway's id of the payment itself (ECPay
	// TradeNo, SinoPac TSNo): another id on a paid attempt is a second payment.
	GatewayPaymentID string     `bun:",notnull"`
	BankCode         string     `bun:",notnull"` // ATM: the bank to transfer to
	VirtualAccount   string     `bun:",notnull"` // ATM: the account to transfer to
	PaymentNo        string     `bun:",notnull"` // convenience store: the kiosk payment number
	Barcode1         string     `bun:"barcode_1,notnull"`
	Barcode2         string     `bun:"barcode_2,notnull"`
	Barcode3         string     `bun:"barcode_3,notnull"` // convenience store: the three barcodes to scan
	PayUntil         *time.Time `bun:""`                  // the shopper can pay until then (ATM deadline, hosted page)
	StartState       StartState `bun:",notnull"`
	// Reconciliation's bookkeeping (see Store.Due and Store.Queried).
	NextQueryAt    time.Time  `bun:",notnull"`
	LastQueriedAt  *time.Time `bun:""`
	QueryFailures  int        `bun:",notnull"`
	LastQueryError string     `bun:",notnull"`
	ExpiredAt      *time.Time `bun:""`
	ReviewReason   string     `bun:",notnull"` // a gateway answer a human must look at
	// Handoff is the gateway form the start produced, shown again by the
	// hand-off page; HandedOffAt is when that page first sent the shopper on.
	Handoff     *HandoffForm `bun:"handoff,type:jsonb"`
	HandedOffAt *time.Time   `bun:""`
	// OtherPayment is read by Apply with the row lock: the result's payment
	// id already belongs to another attempt.
	OtherPayment bool `bun:"other_payment,scanonly"`
	// Order is read with the attempt by Apply (locked in the same round
	// trip); nil elsewhere.
	Order *Order `bun:"rel:belongs-to,join:order_id=id"`

	CreatedAt time.Time `bun:",nullzero,notnull,default:current_timestamp"`
	UpdatedAt time.Time `bun:",nullzero,notnull,default:current_timestamp"`
}

// StartState is where an attempt's hand-off to the gateway stands.
type StartState string

const (
	Starting     StartState = "starting" // asking the gateway to create the trade
	Started      StartState = "started"  // the gateway has it (or it lives in the shopper's form post)
	StartUnknown StartState = "unknown"  // the call died: reconciliation finds out whether the gateway has it
)

// Verdict is what we made of an inbound callback.
type Verdict string

const (
	Applied   Verdict = "applied"   // changed state
	Duplicate Verdict = "duplicate" // already applied; acknowledged again, nothing changed
	Ignored   Verdict = "ignored"   // authentic but must not change state
	Rejected  Verdict = "rejected"  // not verified (forged, malformed, not ours)
	// Unmatched: verified money that matches no attempt (unknown trade,
	// another amount or merchant): acknowledged, and the host is told.
	Unmatched Verdict = "unmatched"
	// SecondPayment: another distinct payment on a paid attempt or order:
	// acknowledged, nothing changes, and a refund is due.
	SecondPayment Verdict = "second_payment"
	// Recorded: what we sent a gateway and what it answered.
	Recorded Verdict = "recorded"
)

// Event is one inbound callback, stored raw.
type Event struct {
	bun.BaseModel `bun:"table:events"`

	ID              int64     `bun:",pk,autoincrement"`
	Gateway         string    `bun:",notnull"`
	Kind            string    `bun:",notnull"`
	Body            string    `bun:",notnull"`
	Verdict         Verdict   `bun:",notnull"`
	Reason          string    `bun:",notnull"`
	MerchantTradeNo string    `bun:",notnull"`
	OrderID         *int64    `bun:""`
	AttemptID       *int64    `bun:""`
	RemoteAddr      string    `bun:",notnull"`
	BodyLength      int       `bun:",notnull"` // of the body as received (Body may be truncated)
	BodySHA256      string    `bun:"body_sha256,notnull"`
	DedupeKey       string    `bun:",notnull"` // the gateway's replay key (SinoPac PayToken)
	PaymentID       string    `bun:",notnull"` // a paid result's payment id (GatewayTradeNo)
	RefundID        *int64    `bun:""`         // a refund's call or answer (refund.go)
	ReceivedAt      time.Time `bun:",nullzero,notnull,default:current_timestamp"`
}

// StatusChange is one row of an order's status history.
type StatusChange struct {
	bun.BaseModel `bun:"table:status_changes"`

	ID         int64     `bun:",pk,autoincrement"`
	OrderID    int64     `bun:",notnull"`
	FromStatus Status    `bun:",notnull"`
	ToStatus   Status    `bun:",notnull"`
	EventID    *int64    `bun:""`
	ChangedAt  time.Time `bun:",nullzero,notnull,default:current_timestamp"`
}

// Side-effect topics: what the host is told, after the transaction that
// caused it committed (see SideEffect).
const (
	TopicOrderPaid = "order.paid" // confirm the order, start the work
	// TopicDuplicatePayment: a second, distinct payment arrived for an
	// order that was already paid (or refunded): refund it.
	TopicDuplicatePayment = "payment.duplicate"
	// TopicUnmatchedPayment: the gateway confirmed money that matches no
	// attempt (unknown trade, other amount or merchant): find out why,
	// then refund or apply it by hand.
	TopicUnmatchedPayment = "payment.unmatched"
)
