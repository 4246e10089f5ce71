package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Index page: every trade, most recent first, with its code, its
// deliveries, a link to the shop's order and the tester's faults.

type ecpayIndexTrade struct {
	MerchantID, MerchantTradeNo, TradeNo, ItemName, State, Card, Choose string
	Amount                                                              int64
	Created                                                             time.Time
	ReturnURL, Code                                                     string
	Deliveries, InfoDeliveries                                          []Delivery
	Tester                                                              testerRow
}

func (s *ECPay) index(c *gin.Context) {
	base := strings.TrimSuffix(c.Request.URL.Path, "/")
	s.mu.Lock()
	rows := make([]ecpayIndexTrade, 0, len(s.trades))
	for i := len(s.trades) - 1; i >= 0; i-- {
		t := s.trades[i]
		row := ecpayIndexTrade{
			MerchantID: t.merchant.ID, MerchantTradeNo: t.checkout["MerchantTradeNo"], TradeNo: t.tradeNo,
			ItemName: t.checkout["ItemName"], Amount: t.amount, Created: t.created, Choose: t.method.choose,
			ReturnURL: t.checkout["ReturnURL"], Deliveries: t.notify.entriesLocked(), Card: maskCard(t.card6, t.card4),
			InfoDeliveries: t.info.entriesLocked(),
			Tester:         newTesterRow(base, t.checkout["MerchantTradeNo"], s.callbacks.faultViewLocked(t.key())),
		}
		switch t.state {
		case ecpayCreated:
			row.State = "未付款 Unpaid"
		case ecpayPaid:
			row.State = "已付款 Paid"
		case ecpayDeclined:
			row.State = "拒絕交易 Declined"
		}
		if k := t.code; k != nil {
			row.Code = fmt.Sprintf("%s %s (繳費期限 until %s)", k.kind, k.counterKey(), k.expireDate)
		}
		rows = append(rows, row)
	}
	s.mu.Unlock()
	if s.orderLink != nil {
		for i := range rows {
			rows[i].Tester.OrderURL = s.orderLink(rows[i].MerchantTradeNo)
		}
	}
	renderHTML(c, ecpayPages, http.StatusOK, "ecpay_index.html", struct {
		Title  string
		Trades []ecpayIndexTrade
		Base   string
	}{"綠界模擬 ECPay sandbox", rows, base})
}

// Arm sets a fault for the next server callback (PaymentInfoURL or
// ReturnURL) of the latest trade with that MerchantTradeNo (see Fault).
func (s *ECPay) Arm(merchantTradeNo string, f Fault, delay time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byNo[merchantTradeNo]
	if t == nil {
		return fmt.Errorf("%w: %q", ErrECPayUnknownTrade, merchantTradeNo)
	}
	return s.callbacks.armLocked(t.key(), f, delay)
}

// Release sends the trade's held (reordered) callbacks now.
func (s *ECPay) Release(merchantTradeNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byNo[merchantTradeNo]
	if t == nil {
		return fmt.Errorf("%w: %q", ErrECPayUnknownTrade, merchantTradeNo)
	}
	s.callbacks.releaseLocked(t.key())
	return nil
}

func (s *ECPay) testerFaults(c *gin.Context) {
	serveFaults(c, ecpayGroupBase(c, "/tester/callbacks")+"/", s.Arm, s.Release)
}
