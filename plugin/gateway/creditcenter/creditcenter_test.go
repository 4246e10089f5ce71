package creditcenter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/gateway"
)

type spcVector struct {
	ID          string `json:"id"`
	CheckCode   string `json:"check_code"`
	ProcessTime string `json:"process_time"`
	Gwsr        string `json:"gwsr"`
	Amount      string `json:"amount"`
	ExpectedT   string `json:"expected_t"`
	ExpectedA   string `json:"expected_a"`
	ExpectedB   string `json:"expected_b"`
	Expected    string `json:"expected"`
}

func loadVectors(t *testing.T) []spcVector {
	t.Helper()
	raw, err := os.ReadFile("../testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		SPC []spcVector `json:"creditcenter_spcheck"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.SPC) != 2 {
		t.Fatalf("%d creditcenter_spcheck vectors, want the spec's 2", len(file.SPC))
	}
	return file.SPC
}

// The spec's two test values (creditcenter.md §5a; the spec authors' own
// numbers, self_computed): T, a, b and spcheck.
func TestSPCheckVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			amount, _ := strconv.ParseInt(v.Amount, 10, 64)
			got, err := SPCheck(v.CheckCode, v.ProcessTime, v.Gwsr, amount)
			if err != nil || strconv.FormatInt(got, 10) != v.Expected {
				t.Fatalf("SPCheck = %d, %v; want %s", got, err, v.Expected)
			}
			T, _ := strconv.ParseInt(v.ExpectedT, 10, 64)
			pt, _ := strconv.ParseInt(v.ProcessTime, 10, 64)
			g, _ := strconv.ParseInt(v.Gwsr, 10, 64)
			if pt+g+amount != T {
				t.Fatalf("T = %d, want %d", pt+g+amount, T)
			}
			a, b := SPCheckDigits(T)
			wantA, _ := strconv.ParseInt(v.ExpectedA, 10, 64)
			wantB, _ := strconv.ParseInt(v.ExpectedB, 10, 64)
			if a != wantA || b != wantB {
				t.Fatalf("a, b = %d, %d; want %s, %s", a, b, v.ExpectedA, v.ExpectedB)
			}
			// Through a whole callback: verifies, and one changed value does not.
			m := Merchant{Client: "3", CheckCode: gateway.Secret(v.CheckCode)}
			cb := &Callback{Client: "3", ProcessTime: v.ProcessTime, Gwsr: v.Gwsr, Amount: amount}
			cb.SPCheck, _ = strconv.ParseInt(v.Expected, 10, 64)
			if err := m.Verify(cb); err != nil {
				t.Fatal(err)
			}
			cb.SPCheck++
			if err := m.Verify(cb); !errors.Is(err, ErrSPCheck) {
				t.Fatalf("tampered spcheck: %v", err)
			}
		})
	}
}

func TestSPCheckEdges(t *testing.T) {
	if _, err := SPCheck("12345678", "000000", "", 0); !errors.Is(err, ErrSPCheckInput) {
		t.Fatalf("T = 0: %v", err)
	}
	// T with fewer than six digits: missing digits are omitted; T=7 gives a=7, b=0.
	if got, _ := SPCheck("12345678", "000005", "2", 0); got != 12345678%7+12345678+7 {
		t.Fatalf("short T: %d", got)
	}
	for _, bad := range []string{"", "12a45678", "12345678901"} {
		if _, err := SPCheck(bad, "112233", "1", 1); err == nil {
			t.Errorf("check code %q accepted", bad)
		}
	}
}

// Another weakness (own finding): only T's first six digits count, so once
// T has seven digits, spcheck does not change with small changes of the
// amount. It cannot protect the amount: the adapter compares it with the
// order's, and g_recheck confirms it.
func TestSPCheckIgnoresSmallAmountChanges(t *testing.T) {
	a, _ := SPCheck("12345678", "093015", "20130602", 1500)
	b, _ := SPCheck("12345678", "093015", "20130602", 1509)
	c, _ := SPCheck("12345678", "112233", "123321", 3) // T = 235557: six digits, b changes
	d, _ := SPCheck("12345678", "112233", "123321", 2)
	if a != b || c == d {
		t.Fatalf("%d %d %d %d", a, b, c, d)
	}
}

// §5a's weakness, as a fact the adapter is built on: one post with T > K
// gives the check code away.
func TestSPCheckLeaksTheCheckCode(t *testing.T) {
	k := int64(12345678)
	sp, _ := SPCheck("12345678", "093015", "20130602", 1500) // T = 20225117 > K
	a, b := SPCheckDigits(20225117)
	if derived := (sp - a - b) / 2; derived != k {
		t.Fatalf("derived %d", derived)
	}
}

// genuine is a well-formed success callback signed for m.
func genuine(t *testing.T, m Merchant) *Callback {
	t.Helper()
	cb := &Callback{Client: m.Client, Succ: true, Gwsr: "123321", ResponseCode: "00", ResponseMsg: "授權成功",
		ProcessDate: "20261202", ProcessTime: "112233", OrderNo: "CC2612021122ABCD", AuthCode: "777777",
		Amount: 1500, ECI: "5", RechKey: "a1b2c3d4e5", Card6: "431195", Card4: "2222", ExpireDt: "1230",
		Extra: map[string]string{"stage": "0"}}
	if err := m.Sign(cb); err != nil {
		t.Fatal(err)
	}
	return cb
}

var testMerchant = Merchant{Client: "123", CheckCode: "59127346"}

func TestParseCallbackKeepsEveryField(t *testing.T) {
	cb := genuine(t, testMerchant)
	body := cb.Encode()
	got, err := ParseCallback([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := testMerchant.Verify(got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Fields()) != fmt.Sprint(cb.Fields()) {
		t.Fatalf("round trip:\n%v\n%v", got.Fields(), cb.Fields())
	}
	if got.Extra["stage"] != "0" || got.Serial() != "20261202112233123321" || !got.Succ || got.Amount != 1500 {
		t.Fatalf("parsed %+v", got)
	}
	if n := len(got.Fields()); n != 24 { // the 23 named fields + one extra
		t.Fatalf("%d fields", n)
	}
}

func TestParseCallbackIsStrict(t *testing.T) {
	base := genuine(t, testMerchant).Fields()
	cases := map[string]func(f url.Values){
		"amount with decimals":   func(f url.Values) { f.Set("amount", "1500.00") },
		"negative amount":        func(f url.Values) { f.Set("amount", "-1500") },
		"zero amount":            func(f url.Values) { f.Set("amount", "0") },
		"gwsr with letters":      func(f url.Values) { f.Set("gwsr", "12a") },
		"gwsr of 11 digits":      func(f url.Values) { f.Set("gwsr", "12345678901") },
		"gwsr missing on a paid": func(f url.Values) { f.Del("gwsr") },
		"spcheck with sign":      func(f url.Values) { f.Set("spcheck", "+12") },
		"date not a date":        func(f url.Values) { f.Set("process_date", "20261332") },
		"time not a time":        func(f url.Values) { f.Set("process_time", "256000") },
		"short time":             func(f url.Values) { f.Set("process_time", "11223") },
		"succ 2":                 func(f url.Values) { f.Set("succ", "2") },
		"client letters":         func(f url.Values) { f.Set("client", "abc") },
		"client of 7 digits":     func(f url.Values) { f.Set("client", "1234567") },
		"od_sob with a space":    func(f url.Values) { f.Set("od_sob", "CC 1") },
		"card6no of 8 digits":    func(f url.Values) { f.Set("card6no", "43119522") },
		"card4no letters":        func(f url.Values) { f.Set("card4no", "22x2") },
		"red_dan not digits":     func(f url.Values) { f.Set("red_dan", "1.5") },
		"field twice":            func(f url.Values) { f.Add("amount", "1500") },
		"spcheck missing":        func(f url.Values) { f.Del("spcheck") },
		"od_hoho too long":       func(f url.Values) { f.Set("od_hoho", strings.Repeat("x", 2001)) },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range base {
				f.Set(k, v)
			}
			change(f)
			if _, err := ParseCallback([]byte(f.Encode())); !errors.Is(err, ErrMalformed) {
				t.Fatalf("accepted: %v", err)
			}
		})
	}
	if _, err := ParseCallback([]byte("%zz")); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	// A failure may come without a serial (unconfirmed): it still parses.
	f := url.Values{}
	for k, v := range base {
		f.Set(k, v)
	}
	f.Set("succ", "0")
	f.Set("gwsr", "")
	if _, err := ParseCallback([]byte(f.Encode())); err != nil {
		t.Fatalf("failure without gwsr: %v", err)
	}
}

func TestVerifyRefusesAnotherClientOrValue(t *testing.T) {
	cb := genuine(t, testMerchant)
	if err := (Merchant{Client: "999", CheckCode: testMerchant.CheckCode}).Verify(cb); !errors.Is(err, ErrSPCheck) {
		t.Fatalf("other client: %v", err)
	}
	if err := (Merchant{Client: "0123", CheckCode: testMerchant.CheckCode}).Verify(cb); err != nil {
		t.Fatalf("zero-padded client: %v", err)
	}
	cb.SPCheck++
	if err := testMerchant.Verify(cb); !errors.Is(err, ErrSPCheck) {
		t.Fatalf("wrong spcheck: %v", err)
	}
}

func TestForm(t *testing.T) {
	fields, err := testMerchant.Form(Request{OrderNo: "CC1", Amount: 1500,
		ReturnURL: "https://shop.example/payments/creditcenter/return", NotifyURL: "https://shop.example/payments/creditcenter/notify"})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(fields)
	want := "[{act auth} {client 123} {od_sob CC1} {amount 1500} {roturl https://shop.example/payments/creditcenter/return} {bk_posturl https://shop.example/payments/creditcenter/notify}]"
	if got != want {
		t.Fatalf("form %s", got)
	}
	for _, r := range []Request{{OrderNo: "CC 1", Amount: 1, ReturnURL: "https://a/", NotifyURL: "https://a/"},
		{OrderNo: "CC1", Amount: 0, ReturnURL: "https://a/", NotifyURL: "https://a/"},
		{OrderNo: "CC1", Amount: 1, ReturnURL: "/relative", NotifyURL: "https://a/"}} {
		if _, err := testMerchant.Form(r); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
}

func TestMerchantValidateAndPublished(t *testing.T) {
	if err := testMerchant.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []Merchant{{Client: "", CheckCode: "12345678"}, {Client: "1234567", CheckCode: "12345678"}, {Client: "1", CheckCode: "1234567"}} {
		if err := m.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", m, err)
		}
	}
	if !Published(Merchant{Client: "003", CheckCode: "11111111"}) || !Published(Merchant{Client: "77", CheckCode: "94499380"}) || Published(testMerchant) {
		t.Fatal("Published")
	}
	if s := fmt.Sprintf("%v %+v %#v", testMerchant, testMerchant, testMerchant); strings.Contains(s, "59127346") {
		t.Fatalf("check code printed: %s", s)
	}
}

func TestRecheck(t *testing.T) {
	var answer string
	status := http.StatusOK
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got, _ = url.ParseQuery(string(body))
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	cb := genuine(t, testMerchant)
	ctx := context.Background()
	answer = "valid=1"
	if err := Recheck(ctx, nil, srv.URL, RecheckOf(cb)); err != nil {
		t.Fatal(err)
	}
	if got.Get("key") != "a1b2c3d4e5" || got.Get("serial") != "20261202112233123321" || got.Get("amt") != "1500" {
		t.Fatalf("request %v", got)
	}
	for _, a := range []string{"valid=0", "valid=1\n", "valid=", "valid=11"} {
		answer = a
		if err := Recheck(ctx, nil, srv.URL, RecheckOf(cb)); !errors.Is(err, ErrNotValid) {
			t.Errorf("answer %q: %v", a, err)
		}
	}
	for _, a := range []string{" valid=1", "VALID=1", "", "<html>valid=1</html>"} {
		answer = a
		if err := Recheck(ctx, nil, srv.URL, RecheckOf(cb)); err == nil || errors.Is(err, ErrNotValid) {
			t.Errorf("answer %q: %v, want unavailable", a, err)
		}
	}
	answer, status = "valid=1", http.StatusServiceUnavailable
	if err := Recheck(ctx, nil, srv.URL, RecheckOf(cb)); !errors.Is(err, ErrRecheckUnavailable) || errors.Is(err, ErrNotValid) {
		t.Fatalf("HTTP 503: %v", err)
	}
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hang.Close()
	defer close(release)
	err := Recheck(ctx, &http.Client{Timeout: 100 * time.Millisecond}, hang.URL, RecheckOf(cb))
	if err == nil || errors.Is(err, ErrNotValid) {
		t.Fatalf("hanging gateway: %v", err)
	}
	if err := Recheck(ctx, nil, srv.URL, RecheckRequest{}); !errors.Is(err, ErrRecheckInput) {
		t.Fatalf("empty request: %v", err)
	}
}
