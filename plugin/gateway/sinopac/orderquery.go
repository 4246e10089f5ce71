package sinopac

import (
	"context"
	"fmt"
)

// OrderQueryRequest is the OrderQuery service object (spec §7), for
// reconciliation. Give at least one criterion besides ShopNo; the bank
// returns at most 300 orders. Date-times are yyyyMMddHHmm (FormatDateTime).
type OrderQueryRequest struct {
	ShopNo         string `json:"ShopNo"` // Client fills it when empty
	OrderNo        string `json:"OrderNo,omitempty"`
	PayType        string `json:"PayType,omitempty"` // "A" or "C"
	OrderDateTimeS string `json:"OrderDateTimeS,omitempty"`
	OrderDateTimeE string `json:"OrderDateTimeE,omitempty"`
	PayDateTimeS   string `json:"PayDateTimeS,omitempty"`
	PayDateTimeE   string `json:"PayDateTimeE,omitempty"`
	PayFlag        string `json:"PayFlag,omitempty"` // "Y" paid/captured, "N" not, "O" overdue
}

// Validate checks formats and that some criterion besides ShopNo is given.
func (r OrderQueryRequest) Validate() error {
	if err := checkFields(
		field{name: "ShopNo", value: r.ShopNo, max: 20, required: true},
		field{name: "OrderNo", value: r.OrderNo, max: 50, noQuotes: true},
	); err != nil {
		return err
	}
	if r == (OrderQueryRequest{ShopNo: r.ShopNo}) {
		return invalid("OrderQuery needs a criterion besides ShopNo")
	}
	switch r.PayType {
	case "", PayTypeATM, PayTypeCard:
	default:
		return invalid("PayType %q not supported", r.PayType)
	}
	switch r.PayFlag {
	case "", "Y", "N", "O":
	default:
		return invalid("PayFlag must be Y, N or O")
	}
	for _, f := range [...]struct{ name, v string }{
		{"OrderDateTimeS", r.OrderDateTimeS}, {"OrderDateTimeE", r.OrderDateTimeE},
		{"PayDateTimeS", r.PayDateTimeS}, {"PayDateTimeE", r.PayDateTimeE},
	} {
		if err := checkDateTime(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// OrderQueryResponse is the decrypted OrderQuery reply.
type OrderQueryResponse struct {
	ShopNo      string      `json:"ShopNo"`
	Date        string      `json:"Date"`
	Status      string      `json:"Status"`
	Description string      `json:"Description"`
	OrderList   []OrderInfo `json:"OrderList,omitempty"`
}

// OrderInfo is one order in OrderQuery's OrderList (NET OrderInfo).
type OrderInfo struct {
	OrderNo         string     `json:"OrderNo"`
	TSNo            string     `json:"TSNo"`
	TSDate          string     `json:"TSDate"`
	ApprovedDate    string     `json:"ApprovedDate,omitempty"` // card authorisation
	PayDate         string     `json:"PayDate"`
	AmountRaw       int64      `json:"Amount"` // wire value, TWD×100
	Amount          int64      `json:"-"`      // TWD, set by Client.OrderQuery
	PayType         string     `json:"PayType"`
	PayStatus       string     `json:"PayStatus"`  // ATM: 1A200 awaiting, 1A400 paid; card codes unconfirmed
	ExpireDate      string     `json:"ExpireDate"` // yyyyMMddHHmm
	RefundFlag      string     `json:"RefundFlag"` // Y/N
	RefundStatus    string     `json:"RefundStatus"`
	RefundDate      string     `json:"RefundDate"`
	RefundAmountRaw int64      `json:"RefundAmount"` // unit assumed TWD×100 like Amount (unconfirmed)
	RefundAmount    int64      `json:"-"`            // TWD, set by Client.OrderQuery
	PrdtName        string     `json:"PrdtName"`
	Memo            string     `json:"Memo,omitempty"`
	Param1          string     `json:"Param1,omitempty"`
	Param2          string     `json:"Param2,omitempty"`
	Param3          string     `json:"Param3,omitempty"`
	ATMParam        *OrderATM  `json:"ATMParam,omitempty"`
	CardParam       *OrderCard `json:"CardParam,omitempty"`
}

// OrderATM is an ATM order's account data in OrderQuery.
type OrderATM struct {
	AtmPayNo  string `json:"AtmPayNo"`
	WebAtmURL string `json:"WebAtmURL"`
	OtpURL    string `json:"OtpURL"`
	BankNo    string `json:"BankNo,omitempty"` // "807"
	AcctNo    string `json:"AcctNo,omitempty"` // meaning unclear: "last 5 digits" in NET, 14 digits in a sample
}

// OrderCard is a card order's data in OrderQuery. No public sample shows the
// instalment and bonus fields, so their wire type (number or string) is
// unconfirmed and they are kept as LooseNumber text.
type OrderCard struct {
	CardPayURL         string      `json:"CardPayURL,omitempty"`
	StagingFirstAmount LooseNumber `json:"StagingFirstAmount,omitempty"`
	StagingEachAmount  LooseNumber `json:"StagingEachAmount,omitempty"`
	BonusCount         LooseNumber `json:"BonusCount,omitempty"`
	BonusAmount        LooseNumber `json:"BonusAmount,omitempty"`
	BonusPayAmount     LooseNumber `json:"BonusPayAmount,omitempty"`
	BonusLastCount     LooseNumber `json:"BonusLastCount,omitempty"`
	LeftCCNo           string      `json:"LeftCCNo,omitempty"`
	RightCCNo          string      `json:"RightCCNo,omitempty"`
	AuthCode           string      `json:"AuthCode,omitempty"`
	CCExpDate          string      `json:"CCExpDate,omitempty"`
	CCToken            string      `json:"CCToken,omitempty"`
}

// OrderQuery lists orders matching req. Amounts are converted to TWD; an
// order whose amount is not whole TWD fails the call. A Status other than
// "S" returns the decoded response together with an *APIError.
func (c *Client) OrderQuery(ctx context.Context, req OrderQueryRequest) (OrderQueryResponse, error) {
	trim(&req.ShopNo, &req.OrderNo, &req.PayType, &req.OrderDateTimeS, &req.OrderDateTimeE,
		&req.PayDateTimeS, &req.PayDateTimeE, &req.PayFlag)
	var err error
	if req.ShopNo, err = c.shopNo(req.ShopNo); err != nil {
		return OrderQueryResponse{}, err
	}
	if err := req.Validate(); err != nil {
		return OrderQueryResponse{}, err
	}
	var resp OrderQueryResponse
	if err := c.call(ctx, ServiceOrderQuery, req, &resp); err != nil {
		return OrderQueryResponse{}, err
	}
	if resp.Status != StatusSuccess {
		return resp, &APIError{Service: ServiceOrderQuery, Status: resp.Status, Description: resp.Description}
	}
	for i := range resp.OrderList {
		o := &resp.OrderList[i]
		if o.Amount, err = fromWire(o.AmountRaw); err != nil {
			return resp, fmt.Errorf("order %q: %w", o.OrderNo, err)
		}
		if o.RefundAmount, err = fromWire(o.RefundAmountRaw); err != nil {
			return resp, fmt.Errorf("order %q refund: %w", o.OrderNo, err)
		}
	}
	return resp, nil
}
