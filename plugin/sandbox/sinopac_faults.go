package sandbox

import (
	"fmt"
	"runtime"
	"sync"
	"weak"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// Fault knobs of the SinoPac stand-in's OrderQuery. Like the knobs in
// sinopac_knobs.go they are sandbox-only hooks for tests: they make
// OrderQuery say things the bank may say but the sandbox never says by
// itself (an unconfirmed card code, a refund flag, a refused question).
// Nothing in twpay calls them.
//
// Their state lives beside the sandbox, not in it (a table keyed weakly by
// the *SinoPac, dropped when the sandbox is collected), so the knobs need
// nothing from the order store but one call in orderQuery.

// SetOrderStatus makes OrderQuery list every order with that OrderNo with
// PayStatus payStatus and RefundFlag refundFlag instead of the sandbox's
// own values; "" keeps the sandbox's value for that field, and both ""
// restores the order. Nothing else changes: no payment is made, no
// BackendURL delivery is sent, OrderPayQuery answers as before.
//
// Only the ATM codes 1A200/1A400 are the bank's (sinopac.md §7); the card
// codes and what a refund flag means for a shop are unconfirmed, so a shop
// must not read them as money. This knob lets a test check that.
func (s *SinoPac) SetOrderStatus(orderNo, payStatus, refundFlag string) error {
	f := s.faults()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byNo[orderNo] == nil {
		return fmt.Errorf("%w: OrderNo %q", ErrSinoPacUnknownOrder, orderNo)
	}
	if payStatus == "" && refundFlag == "" {
		delete(f.status, orderNo)
		return nil
	}
	f.status[orderNo] = sinopacStatusOverride{payStatus: payStatus, refundFlag: refundFlag}
	return nil
}

// FailOrderQuery makes OrderQuery asked about orderNo (its OrderNo
// criterion) answer a signed Status "F" with that Description and no
// OrderList; "" restores the normal answer. The order need not exist: a
// bank may refuse a question about an order it never created (what the
// real bank answers then is unconfirmed, sinopac.md §7).
func (s *SinoPac) FailOrderQuery(orderNo, description string) {
	f := s.faults()
	s.mu.Lock()
	defer s.mu.Unlock()
	if description == "" {
		delete(f.fail, orderNo)
		return
	}
	f.fail[orderNo] = description
}

// sinopacStatusOverride is what SetOrderStatus put in place of an order's
// PayStatus and RefundFlag ("" keeps the sandbox's own).
type sinopacStatusOverride struct{ payStatus, refundFlag string }

// sinopacFaultSet is one sandbox's knob settings, guarded by SinoPac.mu.
type sinopacFaultSet struct {
	status map[string]sinopacStatusOverride // OrderNo -> listed status
	fail   map[string]string                // OrderNo -> Description of a Status F answer
}

// sinopacFaultTables holds each sandbox's settings, keyed weakly so that a
// closed and forgotten sandbox takes its settings with it.
var sinopacFaultTables = struct {
	sync.Mutex
	m map[weak.Pointer[SinoPac]]*sinopacFaultSet
}{m: map[weak.Pointer[SinoPac]]*sinopacFaultSet{}}

// faults returns s's knob settings, creating them on first use.
func (s *SinoPac) faults() *sinopacFaultSet {
	key := weak.Make(s)
	sinopacFaultTables.Lock()
	defer sinopacFaultTables.Unlock()
	f := sinopacFaultTables.m[key]
	if f == nil {
		f = &sinopacFaultSet{status: map[string]sinopacStatusOverride{}, fail: map[string]string{}}
		sinopacFaultTables.m[key] = f
		runtime.AddCleanup(s, func(k weak.Pointer[SinoPac]) {
			sinopacFaultTables.Lock()
			delete(sinopacFaultTables.m, k)
			sinopacFaultTables.Unlock()
		}, key)
	}
	return f
}

// peekFaults returns s's knob settings, or nil when no knob was ever set.
func (s *SinoPac) peekFaults() *sinopacFaultSet {
	sinopacFaultTables.Lock()
	defer sinopacFaultTables.Unlock()
	return sinopacFaultTables.m[weak.Make(s)]
}

// orderQueryFaultsLocked applies the knobs to an OrderQuery answer about
// to be sealed. Caller holds SinoPac.mu.
func (s *SinoPac) orderQueryFaultsLocked(req sinopac.OrderQueryRequest, resp *sinopac.OrderQueryResponse) {
	f := s.peekFaults()
	if f == nil {
		return
	}
	if desc, ok := f.fail[req.OrderNo]; ok && req.OrderNo != "" {
		resp.Status, resp.Description, resp.OrderList = sinopac.StatusFailure, desc, nil
		return
	}
	for i := range resp.OrderList {
		o := &resp.OrderList[i]
		ov, ok := f.status[o.OrderNo]
		if !ok {
			continue
		}
		if ov.payStatus != "" {
			o.PayStatus = ov.payStatus
		}
		if ov.refundFlag != "" {
			o.RefundFlag = ov.refundFlag
		}
	}
}
