package pay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
)

// Process is the one path every callback takes: verify, record, apply at
// most once. It returns an error wrapping ErrRejected for a forgery or a
// callback that does not match its order (recorded as rejected; answer
// 4xx) and any other error for our own failure (nothing committed; answer
// 5xx without the acknowledgement).
func Process(ctx context.Context, store *checkout.Store, gatewayName string, cb Callback, body []byte, remote string) (checkout.Outcome, error) {
	in := checkout.Inbound{Gateway: gatewayName, Kind: cb.Kind, Body: string(body), RemoteAddr: remote}
	v, err := cb.Verify(ctx, body)
	in.Result, in.Info = v.Result, v.Info
	if errors.Is(err, ErrRejected) {
		if err := store.Reject(ctx, in, err); err != nil {
			return checkout.Outcome{}, err
		}
		return checkout.Outcome{Verdict: checkout.Rejected, Reason: err.Error()}, err
	}
	if err != nil {
		return checkout.Outcome{}, err
	}
	in.Result.MerchantTradeNo = strings.TrimSpace(in.Result.MerchantTradeNo)
	return applyVerified(ctx, store, in)
}

// Rejectf wraps a rejection reason in ErrRejected.
func Rejectf(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrRejected, fmt.Errorf(format, args...))
}

// applyVerified applies a verified result; when it does not match the
// stored attempt (Apply recorded it as rejected) the error wraps ErrRejected.
func applyVerified(ctx context.Context, store *checkout.Store, in checkout.Inbound) (checkout.Outcome, error) {
	out, err := store.Apply(ctx, in)
	if isMismatch(err) {
		return out, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return out, err
}

// isMismatch: Apply recorded the result as rejected (it does not match the
// stored attempt).
func isMismatch(err error) bool {
	return errors.Is(err, checkout.ErrUnknownTrade) || errors.Is(err, checkout.ErrMerchantMismatch) ||
		errors.Is(err, checkout.ErrAmountMismatch)
}

// ErrStartFailed: the gateway refused or could not be reached when an
// attempt started; the attempt is marked failed and the shopper is shown
// the order's page (failure panel with a retry, not a spinner).
var ErrStartFailed = errors.New("payment could not be started")

// Begin starts one attempt with m: it asks the gateway and remembers a
// hosted page or the codes the gateway issued. When the gateway fails it
// marks the attempt failed and returns Start{ShowOrder: true} with an
// error wrapping ErrStartFailed; any other error is our own failure.
func Begin(ctx context.Context, store *checkout.Store, m Method, h HandOff) (Start, error) {
	st, err := m.Start(ctx, h)
	if err == nil && (st.PayURL != "" || len(st.Info) > 0) {
		info := map[string]any{}
		for k, v := range st.Info {
			info[k] = v
		}
		if !st.PayURLExpires.IsZero() {
			info["pay_url_expires_at"] = st.PayURLExpires.UTC().Format(time.RFC3339)
		}
		err = store.SetPayURL(ctx, h.Attempt.ID, st.PayURL, info)
	}
	if err == nil && st.Issued != nil {
		_, err = store.Apply(ctx, checkout.Inbound{Gateway: m.Gateway(), Kind: "start", Body: st.IssuedBody,
			Result: st.Issued.Result, Info: st.Issued.Info})
	}
	if err != nil {
		if ferr := store.FailAttempt(ctx, h.Attempt, err.Error()); ferr != nil {
			return Start{}, errors.Join(err, ferr)
		}
		return Start{ShowOrder: true}, fmt.Errorf("%w: %w", ErrStartFailed, err)
	}
	return st, nil
}
