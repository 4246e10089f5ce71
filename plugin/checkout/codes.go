package checkout

import "fmt"

// decideCodes judges a "codes issued" result (an ATM account, a
// convenience-store code): it only ever moves a pending attempt of an
// order nobody paid. Codes issued for a paid order change nothing: the
// shopper must not be shown something to pay twice.
func decideCodes(o *Order, a *Attempt) (Verdict, string) {
	switch {
	case o.Status.Final() || a.Status == Paid:
		return Ignored, fmt.Sprintf("order already %s: codes issued now change nothing", o.Status)
	case a.Status == AwaitingPayment:
		return Duplicate, "codes already issued"
	case a.Status != Pending:
		return Ignored, "attempt already " + string(a.Status) + ": codes issued now change nothing"
	}
	return Applied, ""
}
