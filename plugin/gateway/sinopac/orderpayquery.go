package sinopac

import (
	"context"
	"fmt"
	"strings"
)

// PayQueryRequest is the OrderPayQuery service object: the PayToken the bank
// posted to BackendURL or ReturnURL. Those callbacks are unsigned, so only
// this query's answer may be trusted.
type PayQueryRequest struct {
	ShopNo   string `json:"ShopNo"`
	PayToken string `json:"PayToken"`
}

// PayQueryResponse is the decrypted OrderPayQuery reply (spec §6). The outer
// Status is the result of the query, TSResultContent.Status the payment's.
type PayQueryResponse struct {
	ShopNo          string    `json:"ShopNo"`
	PayToken        string    `json:"PayToken"`
	Date            string    `json:"Date"` // yyyyMMddHHmm
	Status          string    `json:"Status"`
	Description     string    `json:"Description"`
	TSResultContent *TSResult `json:"TSResultContent,omitempty"`
}

// TSResult is one payment result. Amount is a JSON string here, unlike the
// other services.
type TSResult struct {
	APType      string `json:"APType"` // APTypePayOut; other values unconfirmed
	TSNo        string `json:"TSNo"`
	OrderNo     string `json:"OrderNo"`
	ShopNo      string `json:"ShopNo"`
	PayType     string `json:"PayType"`
	AmountRaw   string `json:"Amount"` // wire value, TWD×100, e.g. "9440300"
	Status      string `json:"Status"`
	Description string `json:"Description"` // may be empty
	PayDate     string `json:"PayDate"`     // yyyyMMddHHmm
	Param1      string `json:"Param1,omitempty"`
	Param2      string `json:"Param2,omitempty"`
	Param3      string `json:"Param3,omitempty"`
	LeftCCNo    string `json:"LeftCCNo,omitempty"`  // card: first 6 digits
	RightCCNo   string `json:"RightCCNo,omitempty"` // card: last 4 digits
	CCExpDate   string `json:"CCExpDate,omitempty"`
	CCToken     string `json:"CCToken,omitempty"`
}

// AmountTWD converts AmountRaw to whole TWD; an amount that is not a whole
// multiple of 100 is an error, never rounded.
func (t *TSResult) AmountTWD() (int64, error) { return fromWireString(t.AmountRaw) }

// Paid is the spec's rule: the query succeeded, the payment succeeded and the
// result is a PayOut. Use CheckPaid to also match the order.
func (r PayQueryResponse) Paid() bool {
	t := r.TSResultContent
	return r.Status == StatusSuccess && t != nil && t.Status == StatusSuccess && t.APType == APTypePayOut
}

// CheckPaid returns nil only if Paid() and the result is for orderNo and
// amountTWD; otherwise an error wrapping ErrNotPaid, ErrMismatch or
// ErrBadAmount.
func (r PayQueryResponse) CheckPaid(orderNo string, amountTWD int64) error {
	if !r.Paid() {
		return ErrNotPaid
	}
	t := r.TSResultContent
	if t.OrderNo != orderNo {
		return fmt.Errorf("%w: OrderNo %q, want %q", ErrMismatch, t.OrderNo, orderNo)
	}
	got, err := t.AmountTWD()
	if err != nil {
		return err
	}
	if got != amountTWD {
		return fmt.Errorf("%w: amount %d TWD, want %d", ErrMismatch, got, amountTWD)
	}
	return nil
}

// OrderPayQuery asks what a PayToken stands for. An outer Status other than
// "S" returns the decoded response together with an *APIError; a failed
// payment is not an error (check Paid).
func (c *Client) OrderPayQuery(ctx context.Context, payToken string) (PayQueryResponse, error) {
	req := PayQueryRequest{ShopNo: c.ShopNo, PayToken: strings.TrimSpace(payToken)}
	if err := checkFields(field{name: "PayToken", value: req.PayToken, max: 255, required: true, noQuotes: true}); err != nil {
		return PayQueryResponse{}, err
	}
	var resp PayQueryResponse
	if err := c.call(ctx, ServiceOrderPayQuery, req, &resp); err != nil {
		return PayQueryResponse{}, err
	}
	if resp.Status != StatusSuccess {
		return resp, &APIError{Service: ServiceOrderPayQuery, Status: resp.Status, Description: resp.Description}
	}
	return resp, nil
}
