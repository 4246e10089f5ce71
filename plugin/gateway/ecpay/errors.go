package ecpay

import "errors"

// Sentinel errors, so callers can tell a forged callback from a malformed one.
var (
	ErrMalformed       = errors.New("ecpay: malformed form body")
	ErrDuplicateField  = errors.New("ecpay: field sent more than once")
	ErrMissingField    = errors.New("ecpay: required field missing")
	ErrMissingMAC      = errors.New("ecpay: CheckMacValue missing")
	ErrBadMAC          = errors.New("ecpay: CheckMacValue does not match")
	ErrUnknownMerchant = errors.New("ecpay: unknown MerchantID")
	ErrBadAmount       = errors.New("ecpay: amount is not a positive integer")

	// QueryTradeInfo (query.go).
	ErrQueryFailed = errors.New("ecpay: QueryTradeInfo answered with an error")
	ErrHTTPStatus  = errors.New("ecpay: unexpected HTTP status")
	ErrRateLimited = errors.New("ecpay: rate limited (HTTP 403); back off 30 minutes")
	ErrMismatch    = errors.New("ecpay: reply is for another trade")
)
