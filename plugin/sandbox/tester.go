package sandbox

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// The testers' callback faults on every sandbox's index page: one plain
// HTML form per trade (no JavaScript), posted to <mount>/tester/callbacks.

// Trade keys: unique forever per gateway, as the gateways' own rules make
// trade numbers (a deliverer keeps faults by them).
func (t *ecpayTrade) key() string   { return t.merchant.ID + "\x00" + t.checkout["MerchantTradeNo"] }
func (o *sinopacOrder) key() string { return o.shopNo + "\x00" + o.req.OrderNo }
func (t *ccTrade) key() string      { return t.merchant.Client + "\x00" + t.orderNo }

// testerRow is the data of the shared "tester_faults" form for one trade.
type testerRow struct {
	Action   string // the form's action
	Trade    string // the gateway's trade number (MerchantTradeNo, OrderNo, od_sob)
	OrderURL string // the shop's page for the trade's order, if the host said
	FaultView
	Faults []Fault
}

func newTesterRow(base, trade string, v FaultView) testerRow {
	return testerRow{Action: base + "/tester/callbacks", Trade: trade, FaultView: v, Faults: Faults}
}

// OrderLinker returns the shop's page for the order a trade number pays
// (the storefront or back-office URL), or "" when it knows none. The demo
// host sets it; the sandboxes call it outside their locks.
type OrderLinker func(tradeNo string) string

// link fills the rows' OrderURL.
func link(rows []testerRow, f OrderLinker) {
	if f == nil {
		return
	}
	for i := range rows {
		rows[i].OrderURL = f(rows[i].Trade)
	}
}

// maxTesterForm bounds a tester form post.
const maxTesterForm = 4 << 10

// serveFaults handles a tester's form: arm a fault for a trade's next
// callback, or release the callbacks held for it; then back to the index.
func serveFaults(c *gin.Context, index string, arm func(trade string, f Fault, d time.Duration) error, release func(trade string) error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxTesterForm)
	if err := c.Request.ParseForm(); err != nil {
		c.String(http.StatusBadRequest, "malformed form")
		return
	}
	f := c.Request.PostForm
	trade := strings.TrimSpace(f.Get("trade"))
	var err error
	if f.Get("fault") == "release" {
		err = release(trade)
	} else {
		secs, _ := strconv.Atoi(f.Get("delay_seconds"))
		err = arm(trade, Fault(f.Get("fault")), time.Duration(secs)*time.Second)
	}
	if err != nil {
		c.String(http.StatusBadRequest, err.Error())
		return
	}
	c.Redirect(http.StatusSeeOther, index+"?armed="+url.QueryEscape(trade))
}
