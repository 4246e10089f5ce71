package pay

import (
	"context"
	"errors"
	"net/http"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/metrics"
)

// Media types gateways post their callbacks as (Callback.MediaType).
const (
	FormMediaType = "application/x-www-form-urlencoded"
	JSONMediaType = "application/json"
)

// Receive is Process for a callback route: what the route read (body and
// readErr, e.g. http.MaxBytesError past the limit) and the Content-Type's
// media type are checked first. A body that could not be read whole, or
// one declared as another media type than cb.MediaType, is recorded as
// rejected with its reason (the body cut as every rejected one) and
// returns an error wrapping ErrRejected, like a failed verification. An
// absent Content-Type is let through: no spec says every gateway sends
// one, and the body's verification is what authenticates it.
func Receive(ctx context.Context, store *checkout.Store, gatewayName string, cb Callback, mediaType string, body []byte, readErr error, remote string) (checkout.Outcome, error) {
	var reason error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(readErr, &tooBig):
		reason = Rejectf("body over %d bytes", tooBig.Limit)
	case readErr != nil:
		reason = Rejectf("body unreadable after %d bytes: %v", len(body), readErr)
	case cb.MediaType != "" && mediaType != "" && mediaType != cb.MediaType:
		reason = Rejectf("content type %.60q, want %s", mediaType, cb.MediaType)
	}
	if reason != nil {
		metrics.FromContext(ctx).Callback(gatewayName, cb.Kind, string(checkout.Rejected), metrics.ReasonBody)
		in := checkout.Inbound{Gateway: gatewayName, Kind: cb.Kind, Body: string(body), RemoteAddr: remote}
		if err := store.Reject(ctx, in, reason); err != nil {
			return checkout.Outcome{}, err
		}
		return checkout.Outcome{Verdict: checkout.Rejected, Reason: reason.Error()}, reason
	}
	return Process(ctx, store, gatewayName, cb, body, remote)
}
