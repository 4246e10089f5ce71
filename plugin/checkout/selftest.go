package checkout

import (
	"context"
	"strings"

	"github.com/twpay/twpay/plugin/gateway"
)

// SelfTest is the verdict of the back office's settings self-test: a
// callback twpay signed itself, as its gateway would, and posted to its
// own public callback URL to prove that URL reaches it (proxies, TLS,
// redirects). It names no order, changes nothing, queues nothing, and is
// not in any "needs a human" list (those read 'unmatched').
const SelfTest Verdict = "self_test"

// SelfTestPrefix starts every self-test trade number. No attempt carries
// it (attempts are numbered TP, SP, CC...), so a self-test cannot name an
// order's trade.
const SelfTestPrefix = "TWPAYTEST"

// IsSelfTest reports whether a verified result is a self-test: its trade
// carries the reserved prefix and it claims no money. A verified payment
// naming the prefix is not one (twpay never sends that): it goes through
// Apply like any other, so money is never hidden as a test.
func IsSelfTest(r gateway.Result) bool {
	return strings.HasPrefix(r.MerchantTradeNo, SelfTestPrefix) && r.Outcome != gateway.Paid
}

// RecordSelfTest records a verified self-test callback: one event with
// verdict self_test, linked to nothing. No order, attempt or job changes.
func (s *Store) RecordSelfTest(ctx context.Context, in Inbound) (Outcome, error) {
	ev := newEvent(in, SelfTest, "settings self-test: acknowledged, nothing applied", 0)
	if _, err := s.db.NewInsert().Model(ev).Returning("id").Exec(ctx); err != nil {
		return Outcome{}, err
	}
	return Outcome{Verdict: SelfTest, Reason: ev.Reason, EventID: ev.ID}, nil
}
