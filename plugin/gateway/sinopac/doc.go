// Package sinopac is a standalone client for Bank SinoPac 豐收款 (funBIZ
// "QPay WebAPI"), built on the standard library only.
//
// Every Order call travels in an Envelope: the service JSON is encrypted with
// AES-256-CBC under a key derived from the shop's four hash values (Keys) and
// an IV derived from a single-use nonce, and signed with SHA-256 over its
// top-level members. The same primitives are exported for the server side
// (OpenRequest, SealResponse, NewNonce) so a local sandbox can play the bank
// with exactly this code.
//
// Amounts are whole TWD in this package's API and TWD×100 on the wire.
// Protocol reference: shared/specs/sinopac.md ("the spec" in comments).
package sinopac

// Version is the only envelope version the bank documents.
const Version = "1.0.0"

// Base URLs; append "Nonce" or "Order". Keep them configurable: the bank has
// moved its sandbox host at least twice.
const (
	ProductionBaseURL = "https://api.sinopac.com/funBIZ/QPay.WebAPI/api/"
	SandboxBaseURL    = "https://apisbx.sinopac.com/funBIZ-Sbx/QPay.WebAPI/api/"
)

// APIService names used by this package (spec §2).
const (
	ServiceOrderCreate   = "OrderCreate"
	ServiceOrderQuery    = "OrderQuery"
	ServiceOrderPayQuery = "OrderPayQuery"
)

// Status values, at every level of every response.
const (
	StatusSuccess = "S"
	StatusFailure = "F"
)

// Pay types this package supports. "M" and "W" exist in one integration but
// are unconfirmed, so they are rejected.
const (
	PayTypeATM  = "A"
	PayTypeCard = "C"
)

// APTypePayOut marks a payment result in TSResultContent; other APType values
// are unconfirmed.
const APTypePayOut = "PayOut"
