package sinopac

import (
	"context"
	"encoding/json"
)

// OrderCreateRequest is the OrderCreate service object (spec §5). Fields are
// declared in documented order so Marshal reproduces the bank's samples.
// Amount is whole TWD here and TWD×100 on the wire.
//
// ATMParam and CardParam are values, not pointers: the bank's .NET sample
// always sends both, the unused one as {} (see vectors V1, V2), so this type
// does too.
type OrderCreateRequest struct {
	ShopNo     string    `json:"ShopNo"` // Client fills it when empty
	OrderNo    string    `json:"OrderNo"`
	Amount     int64     `json:"Amount"`     // TWD
	CurrencyID string    `json:"CurrencyID"` // Client fills "TWD" when empty
	PayType    string    `json:"PayType"`    // PayTypeATM or PayTypeCard
	ATMParam   ATMParam  `json:"ATMParam"`
	CardParam  CardParam `json:"CardParam"`
	PrdtName   string    `json:"PrdtName"`
	ReturnURL  string    `json:"ReturnURL,omitempty"`
	BackendURL string    `json:"BackendURL,omitempty"`
	Memo       string    `json:"Memo,omitempty"`
	Param1     string    `json:"Param1,omitempty"`
	Param2     string    `json:"Param2,omitempty"`
	Param3     string    `json:"Param3,omitempty"`
}

// ATMParam is OrderCreate's virtual-account parameter. ExpireTime (HHmm)
// appears in one integration only (unconfirmed) and is not supported.
type ATMParam struct {
	ExpireDate string `json:"ExpireDate,omitempty"` // yyyyMMdd, Taiwan date; see FormatDate
}

// CardParam is OrderCreate's card parameter.
type CardParam struct {
	AutoBilling    string `json:"AutoBilling,omitempty"`    // "Y" capture automatically, "N" later
	ExpBillingDays int    `json:"ExpBillingDays,omitempty"` // days to scheduled capture when AutoBilling=N
	ExpMinutes     int    `json:"ExpMinutes,omitempty"`     // card page lifetime, 1–30 (bank default 10)
	PayTypeSub     string `json:"PayTypeSub,omitempty"`     // "ONE"; instalments etc. unconfirmed
}

// orderCreateWire has the same fields and no methods, so encoding/json
// handles it natively; only Amount's unit differs.
type orderCreateWire OrderCreateRequest

// MarshalJSON writes Amount×100.
func (r OrderCreateRequest) MarshalJSON() ([]byte, error) {
	w := orderCreateWire(r)
	var err error
	if w.Amount, err = toWire(r.Amount); err != nil {
		return nil, err
	}
	return Marshal(w)
}

// UnmarshalJSON reads a wire request (server side), converting Amount to TWD.
func (r *OrderCreateRequest) UnmarshalJSON(b []byte) error {
	var w orderCreateWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	twd, err := fromWire(w.Amount)
	if err != nil {
		return err
	}
	*r = OrderCreateRequest(w)
	r.Amount = twd
	return nil
}

// Validate applies the documented limits. Limits the bank may not enforce
// (PHP SDK's ATM cap of NT$30,000) are left out.
func (r OrderCreateRequest) Validate() error {
	if err := checkFields(
		field{name: "ShopNo", value: r.ShopNo, max: 20, required: true},
		field{name: "OrderNo", value: r.OrderNo, max: 50, required: true, noQuotes: true},
		field{name: "PrdtName", value: r.PrdtName, max: 60, required: true, noQuotes: true},
		field{name: "ReturnURL", value: r.ReturnURL, max: 255, noQuotes: true},
		field{name: "BackendURL", value: r.BackendURL, max: 255, noQuotes: true},
		field{name: "Memo", value: r.Memo, max: 30, noQuotes: true},
		field{name: "Param1", value: r.Param1, max: 255, noQuotes: true},
		field{name: "Param2", value: r.Param2, max: 255, noQuotes: true},
		field{name: "Param3", value: r.Param3, max: 255, noQuotes: true},
	); err != nil {
		return err
	}
	if r.Amount <= 0 || r.Amount > maxTWD {
		return invalid("Amount %d TWD out of range", r.Amount)
	}
	if r.CurrencyID != "TWD" {
		return invalid("CurrencyID must be TWD")
	}
	switch r.PayType {
	case PayTypeATM:
		if r.CardParam != (CardParam{}) {
			return invalid("CardParam set for PayType A")
		}
		if _, err := ParseDate(r.ATMParam.ExpireDate); err != nil {
			return invalid("ATMParam.ExpireDate must be yyyyMMdd")
		}
	case PayTypeCard:
		if r.ATMParam != (ATMParam{}) {
			return invalid("ATMParam set for PayType C")
		}
		return r.CardParam.validate()
	default:
		return invalid("PayType %q not supported", r.PayType)
	}
	return nil
}

func (p CardParam) validate() error {
	switch {
	case p.AutoBilling != "Y" && p.AutoBilling != "N":
		return invalid("CardParam.AutoBilling must be Y or N")
	case p.ExpMinutes < 0 || p.ExpMinutes > 30:
		return invalid("CardParam.ExpMinutes must be 1-30 (0 omits it)")
	case p.ExpBillingDays < 0 || p.ExpBillingDays > 21:
		return invalid("CardParam.ExpBillingDays must be 1-21 (0 omits it)")
	case p.PayTypeSub != "" && p.PayTypeSub != "ONE":
		// STAGING and friends exist in .NET models only (unconfirmed).
		return invalid("CardParam.PayTypeSub %q not supported", p.PayTypeSub)
	}
	return nil
}

// OrderCreateResponse is the decrypted OrderCreate reply, fields in the
// order of the spec sample (V1R). The bank's field order varies between
// versions (V3 differs); decoding does not care.
type OrderCreateResponse struct {
	OrderNo     string      `json:"OrderNo"`
	ShopNo      string      `json:"ShopNo"`
	TSNo        string      `json:"TSNo"` // bank transaction no.
	PayType     string      `json:"PayType"`
	AmountRaw   int64       `json:"Amount"` // wire value, TWD×100
	Amount      int64       `json:"-"`      // TWD, set by Client.OrderCreate
	Status      string      `json:"Status"`
	Description string      `json:"Description"`
	Param1      string      `json:"Param1,omitempty"`
	Param2      string      `json:"Param2,omitempty"`
	Param3      string      `json:"Param3,omitempty"`
	ATMParam    *ATMResult  `json:"ATMParam,omitempty"`
	CardParam   *CardResult `json:"CardParam,omitempty"`
}

// ATMResult tells the buyer where to pay an ATM order.
type ATMResult struct {
	AtmPayNo  string `json:"AtmPayNo"` // the virtual account number
	WebAtmURL string `json:"WebAtmURL"`
	OtpURL    string `json:"OtpURL"`
}

// CardResult holds the hosted card page to redirect the buyer to.
type CardResult struct {
	CardPayURL string `json:"CardPayURL"`
}

// OrderCreate creates an ATM or card order. String fields are trimmed,
// ShopNo and CurrencyID defaulted, then the request is validated. A Status
// other than "S" returns the decoded response together with an *APIError.
func (c *Client) OrderCreate(ctx context.Context, req OrderCreateRequest) (OrderCreateResponse, error) {
	trim(&req.ShopNo, &req.OrderNo, &req.CurrencyID, &req.PayType, &req.PrdtName, &req.ReturnURL,
		&req.BackendURL, &req.Memo, &req.Param1, &req.Param2, &req.Param3,
		&req.ATMParam.ExpireDate, &req.CardParam.AutoBilling, &req.CardParam.PayTypeSub)
	var err error
	if req.ShopNo, err = c.shopNo(req.ShopNo); err != nil {
		return OrderCreateResponse{}, err
	}
	if req.CurrencyID == "" {
		req.CurrencyID = "TWD"
	}
	if err := req.Validate(); err != nil {
		return OrderCreateResponse{}, err
	}
	var resp OrderCreateResponse
	if err := c.call(ctx, ServiceOrderCreate, req, &resp); err != nil {
		return OrderCreateResponse{}, err
	}
	if resp.Status != StatusSuccess {
		return resp, &APIError{Service: ServiceOrderCreate, Status: resp.Status, Description: resp.Description}
	}
	if resp.Amount, err = fromWire(resp.AmountRaw); err != nil {
		return resp, err
	}
	return resp, nil
}
