// Package creditcenter speaks the legacy Green World / ECPay (綠界) hosted
// card page, form_Sc_to5.php, that the seed calls the "credit center": the
// browser form (act=auth, client, od_sob, amount, roturl, bk_posturl), the
// callback's field set parsed strictly into a typed value, the spcheck
// check value, and the server-side g_recheck.php re-check. It imports
// nothing but the standard library and plugin/gateway, so it can be used
// alone as a client library.
//
// Protocol facts: ../shared/specs/creditcenter.md. Much of this protocol
// is known only from third-party plugins (the spec marks it UNCONFIRMED):
// the endpoints are probably retired, no test host is known, the reply the
// gateway expects and its retry schedule are undocumented, and the text
// encoding of response_msg is not stated.
//
// spcheck is not a MAC (creditcenter.md §5a): everything in it but the
// merchant's check code is public, and anyone who sees one roturl post in
// their own browser can work the check code out. A matching spcheck is
// therefore necessary, never sufficient: a payment is real only when
// g_recheck answers exactly "valid=1" (Recheck), and then only for the
// amount the shop itself expects (g_recheck binds neither od_sob nor client).
package creditcenter
