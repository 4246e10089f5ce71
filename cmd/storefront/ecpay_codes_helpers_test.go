package main

import (
	"bytes"
	"context"
	"html"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/tests/htmlform"
)

// fastECPay: 5 ReturnURL/PaymentInfoURL deliveries a few ms apart.
var fastECPay = sandboxSchedules{ecpayNotify: fast.sinopacBackend}

// ecpayCodePage goes from the catalog to ECPay's code page for method.
func ecpayCodePage(b *browser, service, method string) response {
	b.T.Helper()
	redirect := checkoutWith(b, service, method)
	page := b.Submit(redirect, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
	if page.Status != 200 || !page.Has("/sandbox/ecpay/issue") {
		b.T.Fatalf("sandbox code page: %d\n%s", page.Status, page.Body)
	}
	return page
}

// issueCode asks ECPay's page for the code and follows ClientRedirectURL
// back to the shop's order page.
func issueCode(b *browser, codePage response, bank string) response {
	b.T.Helper()
	var set url.Values
	if bank != "" {
		set = url.Values{"bank": {bank}}
	}
	issued := b.Submit(codePage, "/sandbox/ecpay/issue", set)
	return b.Submit(issued, "/payments/ecpay/payment-info-return", nil)
}

var statusRE = regexp.MustCompile(`hx-get="([^"]*/status\?[^"]*)"`)

// pollStatus fetches the status fragment as htmx does.
func pollStatus(t *testing.T, base string, page response) (int, http.Header, string) {
	t.Helper()
	m := statusRE.FindSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no status area on:\n%s", page.Body)
	}
	req, _ := http.NewRequest("GET", base+html.UnescapeString(string(m[1])), nil)
	req.Header.Set("HX-Request", "true")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(body)
}

// counterPay pays code at the sandbox's counter page, as a tester would:
// the row for that code, its own "pay this code" button.
func counterPay(b *browser, code string) response {
	b.T.Helper()
	page := b.Get("/sandbox/ecpay/counter")
	forms, err := htmlform.All(page.Body, page.URL)
	if err != nil {
		b.T.Fatal(err)
	}
	for _, f := range forms {
		if f.Values.Get("code") == code {
			req, _ := http.NewRequest(f.Method, f.Action, strings.NewReader(f.Values.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return b.Do(req)
		}
	}
	b.T.Fatalf("no counter row for %s:\n%s", code, page.Body)
	return response{}
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// code39 patterns (bar, space, bar, ... 9 elements; 1 = wide), the
// standard's table, written out here so the test does not trust the
// encoder it checks.
var code39 = map[string]rune{
	"000110100": '0', "100100001": '1', "001100001": '2', "101100000": '3', "000110001": '4',
	"100110000": '5', "001110000": '6', "000100101": '7', "100100100": '8', "001100100": '9',
	"100001001": 'A', "001001001": 'B', "101001000": 'C', "000011001": 'D', "100011000": 'E',
	"001011000": 'F', "000001101": 'G', "100001100": 'H', "001001100": 'I', "000011100": 'J',
	"100000011": 'K', "001000011": 'L', "101000010": 'M', "000010011": 'N', "100010010": 'O',
	"001010010": 'P', "000000111": 'Q', "100000110": 'R', "001000110": 'S', "000010110": 'T',
	"110000001": 'U', "011000001": 'V', "111000000": 'W', "010010001": 'X', "110010000": 'Y',
	"011010000": 'Z', "010000101": '-', "110000100": '.', "011000100": ' ', "010010100": '*',
}

// decodeCode39 reads a Code 39 PNG back the way a scanner would: one row
// through the middle, bars and spaces by width, narrow or wide.
func decodeCode39(t *testing.T, img []byte) string {
	t.Helper()
	m, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	b := m.Bounds()
	y := b.Min.Y + b.Dy()/2
	var runs []int
	dark, n := false, 0
	started := false
	for x := b.Min.X; x < b.Max.X; x++ {
		r, g, bl, _ := m.At(x, y).RGBA()
		d := (r+g+bl)/3 < 0x8000
		if !started {
			if !d {
				continue // quiet zone
			}
			started, dark = true, true
		}
		if d == dark {
			n++
			continue
		}
		runs = append(runs, n)
		dark, n = d, 1
	}
	if dark { // else the trailing quiet zone, dropped
		runs = append(runs, n)
	}
	if len(runs) < 9 {
		t.Fatalf("no barcode found (%d runs)", len(runs))
	}
	narrow := runs[0]
	for _, r := range runs {
		narrow = min(narrow, r)
	}
	var out []rune
	for i := 0; i+9 <= len(runs); i += 10 { // 9 elements, then a narrow gap
		var p strings.Builder
		for _, r := range runs[i : i+9] {
			if r*2 >= narrow*3 {
				p.WriteByte('1')
			} else {
				p.WriteByte('0')
			}
		}
		c, ok := code39[p.String()]
		if !ok {
			t.Fatalf("element %d: pattern %s is no Code 39 character", i/10, p.String())
		}
		out = append(out, c)
	}
	s := string(out)
	if len(s) < 2 || s[0] != '*' || s[len(s)-1] != '*' {
		t.Fatalf("decoded %q: want start and stop characters", s)
	}
	return s[1 : len(s)-1]
}
