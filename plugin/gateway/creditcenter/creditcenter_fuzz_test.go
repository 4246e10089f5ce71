package creditcenter

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/twpay/twpay/tests/fuzzcheck"
)

// Fuzz targets for what the credit center sends us: the result post
// (parse, spcheck) and g_recheck's answer. `make fuzz` runs each for
// FUZZTIME; the seeds (below and testdata/fuzz/) run in `make test`.

var fuzzMerchant = Merchant{Client: "3", CheckCode: "12345678"}

// seedCallbacks are realistic result posts: authorised, declined (no
// gwsr), with bonus points and e-invoice fields, and with extras seen in
// some feeds; each signed with fuzzMerchant.
func seedCallbacks(tb testing.TB) [][]byte {
	base := Callback{Client: "3", Succ: true, Gwsr: "123321", ResponseCode: "00", ResponseMsg: "授權成功", ProcessDate: "20261201",
		ProcessTime: "112233", OrderNo: "TP2612011122330001", AuthCode: "777777", Amount: 2, ECI: "5",
		RechKey: "a1b2c3d4e5", Inspect: "0123456789abcdef0123456789abcdef", Card6: "431195", Card4: "2222", ExpireDt: "1230",
		Extra: map[string]string{}}
	declined := base
	declined.Succ, declined.Gwsr, declined.ResponseCode, declined.ResponseMsg, declined.AuthCode = false, "", "05", "拒絕交易", ""
	bonus := base
	bonus.RedDan, bonus.RedDeAmt, bonus.RedOkAmt, bonus.RedYet, bonus.Amount, bonus.InvError = 10, 1, 1, 90, 2, "0"
	extra := base
	extra.Extra = map[string]string{"stage": "0", "stast": "", "allsn": "1", "email": "buyer@example.com"}
	var out [][]byte
	for _, cb := range []Callback{base, declined, bonus, extra} {
		if err := fuzzMerchant.Sign(&cb); err != nil {
			tb.Fatal(err)
		}
		out = append(out, []byte(cb.Encode()))
	}
	// A Big5 message (the page's encoding is unconfirmed): 功 is A5 5C,
	// so every lead byte stands alone as invalid UTF-8.
	big5 := append(bytes.Clone(out[1]), []byte("&response_msg="+strings.Repeat("%A5%5C", 150))...)
	big5 = bytes.Replace(big5, []byte("response_msg=%E6%8B%92%E7%B5%95%E4%BA%A4%E6%98%93&"), nil, 1)
	return append(out, big5, []byte("client=3&succ=1&succ=1"), []byte("od_hoho=%zz"), []byte("response_msg=%A6%A8%A5%5C"))
}

// FuzzParseCallback: a result post parses strictly or is refused; what
// parses keeps its shapes (digits, bounds, valid UTF-8) and encodes to a
// body that parses to the same callback.
func FuzzParseCallback(f *testing.F) {
	for _, b := range seedCallbacks(f) {
		fuzzcheck.Seed(f, b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, err := ParseCallback(body)
		if err != nil {
			if cb != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCallback = %+v, %v", cb, err)
			}
			return
		}
		if cb.Amount <= 0 || cb.Amount > MaxAmount || !OrderNoPattern.MatchString(cb.OrderNo) || !clientPattern.MatchString(cb.Client) ||
			(cb.Succ && cb.Gwsr == "") || len(cb.Serial()) < 14 {
			t.Fatalf("accepted %+v", cb)
		}
		for name, v := range cb.Fields() {
			if max, ok := maxLen[name]; (ok && utf8.RuneCountInString(v) > max) || !utf8.ValidString(v) {
				t.Fatalf("%s %q kept (bound %d)", name, v, max)
			}
		}
		again, err := ParseCallback([]byte(cb.Encode()))
		if err != nil || !reflect.DeepEqual(again, cb) {
			t.Fatalf("round trip: %+v\n-> %+v, %v", cb, again, err)
		}
	})
}

// FuzzSPCheck signs fuzzed callbacks with the real algorithm: they verify,
// through a form post too; any other spcheck, or another merchant number,
// is refused. (spcheck is no MAC: a changed amount may collide, which is
// why a payment also needs Recheck; this checks the comparison is exact.)
func FuzzSPCheck(f *testing.F) {
	for i, b := range seedCallbacks(f) {
		fuzzcheck.Seed(f, b, int64(i+1))
	}
	f.Fuzz(func(t *testing.T, body []byte, delta int64) {
		cb, err := ParseCallback(body)
		if err != nil {
			return
		}
		cb.Client = fuzzMerchant.Client
		if err := fuzzMerchant.Sign(cb); err != nil {
			t.Fatalf("cannot sign a parsed callback: %v", err)
		}
		if err := fuzzMerchant.Verify(cb); err != nil {
			t.Fatalf("own spcheck refused: %v", err)
		}
		wire, err := ParseCallback([]byte(cb.Encode()))
		if err != nil || fuzzMerchant.Verify(wire) != nil {
			t.Fatalf("signed callback does not verify after a form post: %v", err)
		}
		if delta != 0 {
			forged := *cb
			forged.SPCheck += delta
			if err := fuzzMerchant.Verify(&forged); !errors.Is(err, ErrSPCheck) {
				t.Fatalf("spcheck %+d accepted: %v", delta, err)
			}
		}
		other := *cb
		other.Client = "4"
		if err := fuzzMerchant.Verify(&other); !errors.Is(err, ErrSPCheck) {
			t.Fatalf("another client accepted: %v", err)
		}
		if err := (Merchant{Client: "003", CheckCode: fuzzMerchant.CheckCode}).Verify(cb); err != nil {
			t.Fatalf("client 003 is client 3: %v", err)
		}
	})
}

// FuzzRecheck answers g_recheck with fuzzed statuses and bodies over real
// HTTP: only a 200 with exactly "valid=1" confirms; another "valid=..."
// is the gateway's no; anything else is "we do not know".
func FuzzRecheck(f *testing.F) {
	for _, s := range []string{"valid=1", "valid=0", "valid=1\n", "valid=", "<html>error</html>", "", "VALID=1", "valid=1valid=1"} {
		fuzzcheck.Seed(f, uint16(200), []byte(s))
	}
	fuzzcheck.Seed(f, uint16(500), []byte("valid=1"))
	fuzzcheck.Seed(f, uint16(302), []byte("valid=1"))
	var (
		mu     sync.Mutex
		status int
		answer []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.PostFormValue("key") == "" || r.PostFormValue("serial") == "" || r.PostFormValue("amt") == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	}))
	f.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req := RecheckRequest{Key: "a1b2c3d4e5", Serial: "20261201112233123321", Amount: 2}
	f.Fuzz(func(t *testing.T, code uint16, body []byte) {
		mu.Lock()
		status, answer = 200+int(code)%400, body // 1xx is not a final answer
		st := status
		mu.Unlock()
		err := Recheck(context.Background(), client, srv.URL, req)
		shown := body
		if st == http.StatusNoContent || st == http.StatusNotModified {
			shown = nil // no body allowed
		}
		if len(shown) > 1024 {
			shown = shown[:1024]
		}
		switch {
		case st == http.StatusOK && string(shown) == RecheckValid:
			if err != nil {
				t.Fatalf("valid=1 refused: %v", err)
			}
		case err == nil:
			t.Fatalf("HTTP %d %q confirmed a payment", st, shown)
		case st == http.StatusOK && bytes.HasPrefix(shown, []byte("valid=")):
			if !errors.Is(err, ErrNotValid) {
				t.Fatalf("HTTP 200 %q: %v, want ErrNotValid", shown, err)
			}
		case !errors.Is(err, ErrRecheckUnavailable):
			t.Fatalf("HTTP %d %q: %v, want ErrRecheckUnavailable", st, shown, err)
		}
		if strings.Contains(errString(err), string(body)) && len(body) > 64 {
			t.Fatalf("the error quotes a %d-byte answer whole", len(body))
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// A huge post costs memory in proportion to its size, however many fields.
func TestParseCallbackHugeInput(t *testing.T) {
	good := seedCallbacks(t)[0]
	for name, body := range map[string][]byte{
		"extras": append(bytes.Repeat([]byte("x=1&"), 1<<18), good...),
		"value":  append(append([]byte("od_hoho="), bytes.Repeat([]byte("%A6"), 1<<18)...), good...),
		"names":  append(bytes.Repeat([]byte("a"), 1<<20), good...),
	} {
		fuzzcheck.Bounded(t, name, len(body), 64, func() { _, _ = ParseCallback(body) })
	}
}

// Regression (FuzzParseCallback): free text is bounded as kept, in
// characters, so a parsed callback re-encodes to one that parses.
func TestParseCallbackTextBound(t *testing.T) {
	seed := seedCallbacks(t)[0]
	cases := []struct {
		name, msg string
		ok        bool
	}{
		{"Big5, 300 bytes", strings.Repeat("%A5%5C", 150), true},
		{"UTF-8, 400 characters", strings.Repeat("%E5%8A%9F", 400), true},
		{"UTF-8, 401 characters", strings.Repeat("%E5%8A%9F", 401), false},
		{"Big5 lead bytes, 401 characters", strings.Repeat("%A5a", 200) + "%A5", false},
	}
	for _, c := range cases {
		body := bytes.Replace(seed, []byte("response_msg=%E6%8E%88%E6%AC%8A%E6%88%90%E5%8A%9F"), []byte("response_msg="+c.msg), 1)
		cb, err := ParseCallback(body)
		if (err == nil) != c.ok {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err == nil {
			if again, err := ParseCallback([]byte(cb.Encode())); err != nil || again.ResponseMsg != cb.ResponseMsg {
				t.Fatalf("%s: re-encoded callback: %v", c.name, err)
			}
		}
	}
}
