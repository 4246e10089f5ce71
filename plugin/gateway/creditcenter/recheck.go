package creditcenter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twpay/twpay/plugin/gateway"
)

// Errors of Recheck. ErrNotValid is the gateway's own "no" (any answer but
// exactly valid=1): the authorisation is not theirs, never pay. Any other
// error (ErrRecheckUnavailable: another status or an answer that is not
// "valid=...", or a transport failure) means we do not know:
// ask again later, never pay meanwhile.
var (
	ErrNotValid           = errors.New("creditcenter: g_recheck did not answer valid=1")
	ErrRecheckUnavailable = errors.New("creditcenter: g_recheck unavailable")
	ErrRecheckInput       = errors.New("creditcenter: nothing to re-check")
)

// RecheckValid is the only answer that confirms an authorisation
// (creditcenter.md §5b).
const RecheckValid = "valid=1"

// RecheckRequest is what g_recheck.php takes: key = the posted rech_key,
// serial = process_date + process_time + gwsr, amt = amount.
type RecheckRequest struct {
	Key    string
	Serial string
	Amount int64
}

// RecheckOf is the re-check of a callback's authorisation.
func RecheckOf(cb *Callback) RecheckRequest {
	return RecheckRequest{Key: cb.RechKey, Serial: cb.Serial(), Amount: cb.Amount}
}

// Form is the request's form body.
func (r RecheckRequest) Form() url.Values {
	return url.Values{"key": {r.Key}, "serial": {r.Serial}, "amt": {strconv.FormatInt(r.Amount, 10)}}
}

// Recheck asks endpoint (a g_recheck.php URL) whether the gateway holds
// the authorisation r describes, with a POST form. It returns nil only for
// an HTTP 200 whose body is exactly "valid=1"; ErrNotValid for another
// "valid=..." body; ErrRecheckUnavailable for another status or body; and
// the transport's error when there was no answer. client nil means a 15 s timeout.
//
// g_recheck binds neither od_sob nor client (creditcenter.md §5b): compare
// the amount with your own order, and keep each gwsr to one order.
func Recheck(ctx context.Context, client *http.Client, endpoint string, r RecheckRequest) error {
	if r.Key == "" || len(r.Serial) < 15 || r.Amount <= 0 {
		return ErrRecheckInput
	}
	if client == nil {
		client = defaultRecheckClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(r.Form().Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := gateway.Do(client, req, "creditcenter", "g_recheck")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecheckUnavailable, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1024))
	switch {
	case err != nil:
		return fmt.Errorf("%w: reading the answer: %w", ErrRecheckUnavailable, err)
	case res.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: HTTP %d", ErrRecheckUnavailable, res.StatusCode)
	case string(body) == RecheckValid:
		return nil
	case strings.HasPrefix(string(body), "valid="):
		return fmt.Errorf("%w: answered %q", ErrNotValid, truncate(string(body), 40))
	}
	// Not g_recheck's kind of answer at all (an error page, an empty
	// body): never a payment, and not the gateway's "no" either.
	return fmt.Errorf("%w: an answer that is not g_recheck's: %q", ErrRecheckUnavailable, truncate(string(body), 40))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// defaultRecheckClient is Recheck's client when none is given: the shared
// gateway connection pool.
var defaultRecheckClient = gateway.Client(15 * time.Second)
