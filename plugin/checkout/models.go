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
	ReturnURL        string     `bun:"return_url,notnull"`
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
	CreatedAt       time.Time      `bun:",nullzero,notnull,default:current_timestamp"`
	UpdatedAt       time.Time      `bun:",nullzero,notnull,default:current_timestamp"`
}

// Verdict is what we made of an inbound callback.
type Verdict string

const (
	Applied   Verdict = "applied"   // changed state
	Duplicate Verdict = "duplicate" // already applied; acknowledged again, nothing changed
	Ignored   Verdict = "ignored"   // authentic but must not change state
	Rejected  Verdict = "rejected"  // not verified or does not match the order
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

// OutboxMessage is a side effect queued in the transaction that caused it.
type OutboxMessage struct {
	bun.BaseModel `bun:"table:outbox"`

	ID          int64          `bun:",pk,autoincrement"`
	Topic       string         `bun:",notnull"`
	OrderID     int64          `bun:",notnull"`
	AttemptID   *int64         `bun:""`
	Payload     map[string]any `bun:",type:jsonb,notnull"`
	CreatedAt   time.Time      `bun:",nullzero,notnull,default:current_timestamp"`
	ProcessedAt *time.Time
	Attempts    int    `bun:",notnull"`
	LastError   string `bun:",notnull"`
}

// Outbox topics.
const (
	TopicOrderPaid        = "order.paid"
	TopicDuplicatePayment = "payment.duplicate" // a second attempt paid an already paid order: refund it
)
