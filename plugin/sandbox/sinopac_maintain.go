package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// OrderMaintain in the SinoPac sandbox (sinopac.md §7: from the bank's
// .NET models only, UNCONFIRMED): P captures a card authorisation, C
// cancels it (the whole order, only before capture), R refunds up to what
// remains (Amount omitted: all of it), on paid card orders. A card order
// with AutoBilling=Y is captured at authorisation; one with AutoBilling=N
// stays uncaptured until P or CaptureCard (the sandbox does not run the
// bank's scheduled capture). ATM orders cannot be maintained here (the
// bank's answer is UNCONFIRMED). Refusals are Status F with E-codes that
// are the sandbox's own (UNCONFIRMED as the bank's).

// SinoPacMaintenance is one OrderMaintain the sandbox answered, for tests.
type SinoPacMaintenance struct {
	At          time.Time
	OrderNo     string
	Command     string
	Amount      int64 // TWD asked (0: omitted)
	Status      string
	Description string
	Refunded    int64 // TWD refunded of the order after it
}

// sinopacMaintain is an order's OrderMaintain state, guarded by SinoPac.mu.
type sinopacMaintain struct {
	captured  bool  // P or CaptureCard (AutoBilling=N orders)
	cancelled bool  // C
	refunded  int64 // TWD, by R
}

const (
	sinopacDescNoOrder   = "E0201 查無資料 No such order for this shop"                                   // unconfirmed
	sinopacDescNotCard   = "E0801 非信用卡訂單 Only card orders can be maintained"                          // unconfirmed
	sinopacDescNotPaid   = "E0802 訂單未授權 The order is not authorised"                                  // unconfirmed
	sinopacDescCancelled = "E0803 授權已取消 The authorisation was cancelled"                              // unconfirmed
	sinopacDescCaptured  = "E0804 已請款 Already captured: refund it (R) instead"                        // unconfirmed
	sinopacDescRefunded  = "E0805 已退款 Part of it was refunded: the authorisation cannot be cancelled" // unconfirmed
	sinopacDescTooMuch   = "E0806 退款金額超過可退金額 Amount exceeds what remains"                             // unconfirmed
)

// CaptureCard does what the bank's scheduled capture of an AutoBilling=N
// card order does: the latest order with that OrderNo is captured from
// now on (C is refused, R refunds).
func (s *SinoPac) CaptureCard(orderNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byNo[orderNo]
	switch {
	case o == nil:
		return fmt.Errorf("%w: OrderNo %q", ErrSinoPacUnknownOrder, orderNo)
	case o.isATM() || o.paid == nil:
		return fmt.Errorf("sandbox: SinoPac order %q is not an authorised card order", orderNo)
	}
	o.maintain.captured = true
	return nil
}

// Maintenance lists the OrderMaintain calls answered for that OrderNo,
// refusals included, oldest first.
func (s *SinoPac) Maintenance(orderNo string) []SinoPacMaintenance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SinoPacMaintenance
	for _, m := range s.maintenance {
		if m.OrderNo == orderNo {
			out = append(out, m)
		}
	}
	return out
}

// orderMaintain answers OrderMaintain.
func (s *SinoPac) orderMaintain(shopNo string, raw []byte, now time.Time) sinopac.OrderMaintainResponse {
	var req sinopac.OrderMaintainRequest // Amount converted to TWD; a non-whole amount fails
	err := json.Unmarshal(raw, &req)
	resp := sinopac.OrderMaintainResponse{OrderNo: req.OrderNo, ShopNo: shopNo, Command: req.Command,
		Date: sinopac.FormatDateTime(now), Status: sinopac.StatusFailure}
	s.mu.Lock()
	defer s.mu.Unlock()
	desc := ""
	o := s.byKey[shopNo+"\x00"+req.OrderNo]
	switch {
	case err != nil && errors.Is(err, sinopac.ErrBadAmount):
		desc = sinopacDescParam + ": Amount must be an integer in TWD×100 that is a whole TWD"
	case err != nil:
		desc = sinopacDescParam + ": malformed OrderMaintain JSON"
	case req.ShopNo != shopNo:
		desc = sinopacDescParam + ": ShopNo differs from the envelope's"
	case req.Validate() != nil:
		desc = sinopacDescParam + ": " + sinopacDetail(req.Validate())
	case o == nil:
		desc = sinopacDescNoOrder
	case o.isATM():
		desc = sinopacDescNotCard
	case o.paid == nil:
		desc = sinopacDescNotPaid
	case o.maintain.cancelled:
		desc = sinopacDescCancelled
	default:
		desc = s.maintainLocked(o, &req)
	}
	if o != nil {
		resp.TSNo = o.tsNo
	}
	if desc == "" {
		resp.Status, resp.Description = sinopac.StatusSuccess, sinopacDescOK
		resp.AmountRaw = sinopac.LooseNumber(strconv.FormatInt(req.Amount*100, 10))
	} else {
		resp.Description = desc
	}
	m := SinoPacMaintenance{At: now, OrderNo: req.OrderNo, Command: req.Command, Amount: req.Amount,
		Status: resp.Status, Description: resp.Description}
	if o != nil {
		m.Refunded = o.maintain.refunded
	}
	s.maintenance = append(s.maintenance, m)
	s.log.Info("OrderMaintain", "shop", shopNo, "order", req.OrderNo, "command", req.Command, "amount_twd", req.Amount,
		"status", resp.Status, "description", resp.Description)
	return resp
}

// maintainLocked applies one command to a paid card order; it returns ""
// or why not. An R with no Amount is filled in with what remains. Caller
// holds s.mu.
func (s *SinoPac) maintainLocked(o *sinopacOrder, req *sinopac.OrderMaintainRequest) string {
	m := &o.maintain
	remaining := o.req.Amount - m.refunded
	switch req.Command {
	case sinopac.CommandCapture:
		if o.captured() {
			return sinopacDescCaptured
		}
		m.captured = true
	case sinopac.CommandCancel:
		switch {
		case o.captured():
			return sinopacDescCaptured
		case m.refunded > 0:
			return sinopacDescRefunded
		}
		m.cancelled = true
		req.Amount = o.req.Amount
	case sinopac.CommandRefund:
		if req.Amount == 0 {
			req.Amount = remaining
		}
		if req.Amount > remaining || remaining <= 0 {
			return sinopacDescTooMuch
		}
		m.refunded += req.Amount
	}
	return ""
}
