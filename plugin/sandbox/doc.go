// Package sandbox holds local stand-ins for the payment gateways' remote
// test services, so the whole checkout journey (browser form, payment page,
// server-to-server notification, browser result post, status query) works
// offline and in tests. They are the only fakes in the project: they stand in
// for the remote side we cannot reach, and speak the real protocol, signed
// with the real algorithms of the plugin/gateway packages.
//
// Each stand-in keeps its state in memory and mounts its routes on a gin
// group chosen by the host, for example:
//
//	ec := sandbox.NewECPay(sandbox.ECPayConfig{})
//	defer ec.Close()
//	ec.Register(router.Group("/sandbox/ecpay"))
//
// A shop then uses <host>/sandbox/ecpay/Cashier/AioCheckOut/V5 where it would
// use ECPay's stage AioCheckOut URL. Nothing here moves money or stores a
// full card number.
package sandbox
