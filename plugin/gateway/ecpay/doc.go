// Package ecpay speaks ECPay's AIO checkout (AioCheckOut V5) protocol:
// CheckMacValue signing and verification, the checkout form's fields and
// the server/browser callbacks. It imports nothing but the standard library
// and plugin/gateway, so it can be used alone as a client library.
//
// Protocol facts: ../shared/specs/ecpay.md. The signing rules here are
// proven against every ECPay vector in plugin/gateway/testdata/vectors.json.
package ecpay
