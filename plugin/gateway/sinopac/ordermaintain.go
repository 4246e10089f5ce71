package sinopac

import (
	"context"
	"encoding/json"
	"fmt"
)

// OrderMaintain (spec §7, "other services"): capture, cancel the
// authorisation of, or refund a card order. The service, its fields and
// its answer come from the bank's .NET models only (NET): none of it is
// confirmed against the bank (UNCONFIRMED), nor is which commands work on
// which order state, nor whether ATM orders can be maintained.

// ServiceOrderMaintain is the APIService name (NET enum APIService).
const ServiceOrderMaintain = "OrderMaintain"

// OrderMaintain commands (NET models; UNCONFIRMED).
const (
	CommandCapture = "P" // capture an authorisation (AutoBilling=N orders)
	CommandCancel  = "C" // cancel the authorisation, before capture: the whole order
	CommandRefund  = "R" // refund Amount (omitted: all)
)

// OrderMaintainRequest is the OrderMaintain service object. Amount is
// whole TWD here and TWD×100 on the wire like every other service's
// (UNCONFIRMED for this one); 0 omits it, which the models document as
// "the whole order".
type OrderMaintainRequest struct {
	ShopNo  string `json:"ShopNo"` // Client fills it when empty
	OrderNo string `json:"OrderNo"`
	Command string `json:"Command"`
	Amount  int64  `json:"Amount,omitempty"` // TWD; 0 = omitted (all)
	Remark  string `json:"Remark,omitempty"`
}

type orderMaintainWire OrderMaintainRequest

// MarshalJSON writes Amount×100.
func (r OrderMaintainRequest) MarshalJSON() ([]byte, error) {
	w := orderMaintainWire(r)
	var err error
	if w.Amount, err = toWire(r.Amount); err != nil {
		return nil, err
	}
	return Marshal(w)
}

// UnmarshalJSON reads a wire request (server side), converting Amount to TWD.
func (r *OrderMaintainRequest) UnmarshalJSON(b []byte) error {
	var w orderMaintainWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	twd, err := fromWire(w.Amount)
	if err != nil {
		return err
	}
	*r = OrderMaintainRequest(w)
	r.Amount = twd
	return nil
}

// Validate applies the limits the models imply. Remark's length limit is
// unknown: 100 bytes is our choice.
func (r OrderMaintainRequest) Validate() error {
	if err := checkFields(
		field{name: "ShopNo", value: r.ShopNo, max: 20, required: true},
		field{name: "OrderNo", value: r.OrderNo, max: 50, required: true, noQuotes: true},
		field{name: "Remark", value: r.Remark, max: 100, noQuotes: true},
	); err != nil {
		return err
	}
	switch r.Command {
	case CommandCapture, CommandRefund:
	case CommandCancel:
		if r.Amount != 0 {
			return invalid("Command C cancels the whole authorisation: no Amount")
		}
	default:
		return invalid("Command %q: want P, C or R", r.Command)
	}
	if r.Amount < 0 || r.Amount > maxTWD {
		return invalid("Amount %d TWD out of range", r.Amount)
	}
	return nil
}

// OrderMaintainResponse is the decrypted OrderMaintain reply (NET models).
// Amount's wire type is unconfirmed: a number or a string is accepted.
type OrderMaintainResponse struct {
	OrderNo     string      `json:"OrderNo"`
	ShopNo      string      `json:"ShopNo"`
	TSNo        string      `json:"TSNo"`
	Command     string      `json:"Command"`
	AmountRaw   LooseNumber `json:"Amount,omitempty"` // wire value, TWD×100
	Amount      int64       `json:"-"`                // TWD, set by Client.OrderMaintain
	Date        string      `json:"Date"`             // yyyyMMddHHmm
	Status      string      `json:"Status"`
	Description string      `json:"Description"`
	// Plain is the verified plaintext as the bank sent it, for the record.
	Plain json.RawMessage `json:"-"`
}

// OrderMaintain sends one command. String fields are trimmed and ShopNo
// defaulted, then the request is validated (nothing is sent when it is
// invalid: ErrInvalidRequest). A Status other than "S" returns the
// decoded response together with an *APIError (the bank's own refusal, in
// a reply whose sign verified); a successful reply for another OrderNo or
// Command is ErrMismatch. Any other error leaves it unknown whether the
// bank did it.
func (c *Client) OrderMaintain(ctx context.Context, req OrderMaintainRequest) (OrderMaintainResponse, error) {
	trim(&req.ShopNo, &req.OrderNo, &req.Command, &req.Remark)
	var err error
	if req.ShopNo, err = c.shopNo(req.ShopNo); err != nil {
		return OrderMaintainResponse{}, err
	}
	if err := req.Validate(); err != nil {
		return OrderMaintainResponse{}, err
	}
	var plain json.RawMessage
	if err := c.call(ctx, ServiceOrderMaintain, req, &plain); err != nil {
		return OrderMaintainResponse{}, err
	}
	var resp OrderMaintainResponse
	if err := json.Unmarshal(plain, &resp); err != nil {
		return OrderMaintainResponse{}, fmt.Errorf("%w: %s: %v", ErrBadPlaintext, ServiceOrderMaintain, err)
	}
	resp.Plain = plain
	var amountErr error
	if resp.AmountRaw != "" {
		raw, err := resp.AmountRaw.Int64()
		if err != nil {
			amountErr = fmt.Errorf("%w: OrderMaintain Amount %q", ErrBadAmount, resp.AmountRaw)
		} else if resp.Amount, err = fromWire(raw); err != nil {
			amountErr = err
		}
	}
	if resp.Status != StatusSuccess {
		return resp, &APIError{Service: ServiceOrderMaintain, Status: resp.Status, Description: resp.Description}
	}
	if amountErr != nil {
		return resp, amountErr
	}
	if resp.OrderNo != req.OrderNo || (resp.Command != "" && resp.Command != req.Command) {
		return resp, fmt.Errorf("%w: OrderMaintain %s %s answered for %s %s", ErrMismatch, req.Command, req.OrderNo, resp.Command, resp.OrderNo)
	}
	return resp, nil
}
