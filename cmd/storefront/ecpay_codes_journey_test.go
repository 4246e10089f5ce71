package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/storefront"
)

// Each ECPay code method over HTTP, without JavaScript: the shopper gets
// the code on ECPay's page, comes back through ClientRedirectURL to the
// order page showing it (localized, grouped, deadline in Taiwan time),
// pays at the sandbox's counter, and the status area's next answer is the
// green panel. The code lives in typed columns.
func TestECPayCodeJourneys(t *testing.T) {
	srv, db, a := startDemoApp(t, fastECPay)
	cases := []struct {
		method, lang, service, bank string
		heading, status, paid       string
	}{
		{"ecpay_atm", "en", "product-photos", "ESUN", "Please transfer to this virtual account", "Waiting for your transfer", "Payment received"},
		{"ecpay_cvs", "zh-TW", "website-audit", "", "您的超商繳費代碼", "等待超商繳費", "付款成功"},
		{"ecpay_barcode", "en", "logo-design", "", "Show these barcodes at the counter", "Waiting for your payment at the store", "Payment received"},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			b := newBrowser(t, srv, c.lang)
			page := issueCode(b, ecpayCodePage(b, c.service, c.method), c.bank)
			no := orderNoFrom(t, page)
			tradeNo := attemptTradeNo(t, db, no, 1)
			if !page.Has(c.heading) || !page.Has(c.status) || !page.Has(`id="pay-status"`) || page.Has(`http-equiv="refresh"`) {
				t.Fatalf("code page:\n%s", page.Body)
			}
			code := counterCode(t, db, tradeNo, c.method)
			if code == "" || st(t, a, no) != "awaiting_payment" {
				t.Fatalf("stored code %q, order %s", code, st(t, a, no))
			}
			// The deadline shown is Taiwan time, whatever the server's zone,
			// written as the language writes dates (web.Localizer.DateTime).
			var shown string
			format := map[string]string{"en": "FMDD Mon YYYY, HH24:MI \"Taiwan time\"", "zh-TW": "YYYY/MM/DD HH24:MI（台灣時間）"}[c.lang]
			db.NewRaw("SELECT to_char((pay_until - interval '1 second') AT TIME ZONE 'Asia/Taipei', ?) FROM payment_attempts WHERE merchant_trade_no = ?", format, tradeNo).
				Scan(context.Background(), &shown)
			if !page.Has(shown) {
				t.Fatalf("deadline %s (Taiwan) not on the page", shown)
			}
			// Grouped for reading, one selectable code for copying.
			if !page.Has(`data-code="`+code+`"`) || !page.Has(`<span class="g">`+code[:4]+`</span><span class="g">`+code[4:8]+`</span>`) {
				t.Fatalf("code %s not grouped on the page", code)
			}
			switch c.method {
			case "ecpay_atm":
				if !page.Has("808 E.SUN Bank") || !page.Has("data-copy=\""+code+"\"") {
					t.Fatalf("ATM panel lacks its bank or copy button:\n%s", page.Body)
				}
			case "ecpay_barcode":
				checkBarcodes(t, b, db, srv.URL, page, tradeNo)
			}
			// The status area answers "still waiting" with itself.
			if status, h, body := pollStatus(t, srv.URL, page); status != 200 || h.Get("HX-Retarget") != "" || !strings.Contains(body, `id="pay-status"`) || strings.Contains(body, "<html") {
				t.Fatalf("poll while waiting: %d %v\n%s", status, h, body)
			}

			if done := counterPay(b, counterCode(t, db, tradeNo, c.method)); done.Status != 200 {
				t.Fatalf("counter: %d\n%s", done.Status, done.Body)
			}
			if err := a.ecpay.WaitAcked(waitCtx(t), tradeNo); err != nil {
				t.Fatal(err)
			}
			status, h, body := pollStatus(t, srv.URL, page)
			if status != 200 || h.Get("HX-Retarget") != "#result" || h.Get("HX-Reswap") != "outerHTML" || !strings.Contains(body, "panel-success") || !strings.Contains(body, c.paid) {
				t.Fatalf("poll after payment: %d %v\n%s", status, h, body)
			}
			kinds := map[string]int{}
			for _, e := range eventsOf(t, db, no) {
				kinds[e.Kind+"/"+e.Verdict]++
			}
			if kinds["payment-info/applied"]+kinds["payment-info-return/applied"] != 1 || kinds["payment-info/duplicate"]+kinds["payment-info-return/duplicate"] != 1 ||
				kinds["notify/applied"] != 1 || transitions(t, db, no, "paid") != 1 {
				t.Fatalf("events %v", kinds)
			}
			// The paid page shows no code any more; nor does its barcode route.
			if paid := b.Get(page.URL.String()); !paid.Has("panel-success") || paid.Has(code) {
				t.Fatalf("paid page:\n%s", paid.Body)
			}
		})
	}
}

func st(t *testing.T, a *app, no string) string { return orderStatus(t, a, no) }

// counterCode is what the counter takes for the trade: the account, the
// payment number or the middle barcode.
func counterCode(t *testing.T, db *bun.DB, tradeNo, method string) string {
	t.Helper()
	col := map[string]string{"ecpay_atm": "virtual_account", "ecpay_cvs": "payment_no", "ecpay_barcode": "barcode_2"}[method]
	var code string
	if err := db.NewRaw("SELECT "+col+" FROM payment_attempts WHERE merchant_trade_no = ?", tradeNo).Scan(context.Background(), &code); err != nil {
		t.Fatal(err)
	}
	return code
}

var barcodeImgRE = regexp.MustCompile(`<img src="([^"]*/barcode/([0-9])\?[^"]*)"`)

// checkBarcodes: each of the three barcodes is an image our server renders
// as Code 39; reading it back gives the stored string, which is also what
// the library's encoder makes of it. A fourth barcode does not exist.
func checkBarcodes(t *testing.T, b *browser, db *bun.DB, base string, page response, tradeNo string) {
	t.Helper()
	var stored [3]string
	db.NewRaw("SELECT barcode_1, barcode_2, barcode_3 FROM payment_attempts WHERE merchant_trade_no = ?", tradeNo).
		Scan(context.Background(), &stored[0], &stored[1], &stored[2])
	imgs := barcodeImgRE.FindAllSubmatch(page.Body, -1)
	if len(imgs) != 3 {
		t.Fatalf("%d barcode images on the page", len(imgs))
	}
	var last string
	for _, m := range imgs {
		n, _ := strconv.Atoi(string(m[2]))
		last = html.UnescapeString(string(m[1]))
		res, err := http.Get(base + last) // the token in the link is enough: no session needed
		if err != nil {
			t.Fatal(err)
		}
		img, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("barcode %d: %d %s", n, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if got := decodeCode39(t, img); got != stored[n-1] {
			t.Errorf("barcode %d reads %q, stored %q", n, got, stored[n-1])
		}
		if want, err := storefront.Code39PNG(stored[n-1]); err != nil || string(want) != string(img) {
			t.Errorf("barcode %d differs from the library's encoding: %v", n, err)
		}
	}
	if r := b.Get(strings.Replace(last, "/barcode/3", "/barcode/4", 1)); r.Status != http.StatusNotFound {
		t.Errorf("barcode 4: %d", r.Status)
	}
}

// WebATM pays at once, like a card: through the result post to the green panel.
func TestECPayWebATMJourney(t *testing.T) {
	srv, db, _ := startDemoApp(t, fastECPay)
	b := newBrowser(t, srv, "zh-TW")
	redirect := checkoutWith(b, "logo-design", "ecpay_webatm")
	instant := b.Submit(redirect, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
	result := b.Submit(b.Submit(instant, "/sandbox/ecpay/pay-instant", nil), "/payments/ecpay/result", nil)
	if !result.Has("panel-success") || !result.Has("付款成功") {
		t.Fatalf("WebATM result:\n%s", result.Body)
	}
	var paymentType string
	db.NewRaw("SELECT payment_type FROM payment_attempts WHERE merchant_trade_no = ?", attemptTradeNo(t, db, orderNoFrom(t, result), 1)).Scan(context.Background(), &paymentType)
	if !strings.HasPrefix(paymentType, "WebATM_") {
		t.Fatalf("payment type %q", paymentType)
	}
}
