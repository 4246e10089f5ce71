package sinopac

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testShop  = "NA0249_001"
	testKeyID = "6f1c2a9e-0000-4000-8000-123456789abc"
)

var testKeys = Keys{A1: "86D50DEF3EB7400E", A2: "01FD27C09E5549E5", B1: "9E004965F4244953", B2: "7FB3385F414E4F91"}

// fakeBank plays SinoPac with the package's server-side helpers: it issues
// single-use nonces, opens requests with OpenRequest and answers with
// SealResponse under a new nonce.
type fakeBank struct {
	t      *testing.T
	hashID string

	mu          sync.Mutex
	issued      map[string]bool // nonce -> used
	keyIDs      []string        // X-KeyID of every call, in order
	paths       []string
	reqNonces   []string
	respNonces  []string
	httpStatus  int                       // non-zero: reply with it to Order calls
	status      string                    // Status to put in replies ("" = S)
	tamper      func(req, resp *Envelope) // corrupt the reply after sealing
	lastRequest []byte                    // decrypted plaintext of the last Order
}

func newFakeBank(t *testing.T) (*fakeBank, *Client) {
	hashID, err := testKeys.HashID()
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBank{t: t, hashID: hashID, issued: map[string]bool{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL + "/funBIZ/QPay.WebAPI/api/", ShopNo: testShop, Keys: testKeys,
		KeyID: "  " + testKeyID + " ", HTTPClient: srv.Client()}
	return b, c
}

func (b *fakeBank) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.keyIDs = append(b.keyIDs, r.Header.Get("X-KeyID"))
	b.paths = append(b.paths, r.URL.Path)
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		b.t.Errorf("%s %s with Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	switch r.URL.Path {
	case "/funBIZ/QPay.WebAPI/api/Nonce":
		var req NonceRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.ShopNo != testShop {
			http.Error(w, "bad nonce request", http.StatusBadRequest)
			return
		}
		n := NewNonce(time.Now())
		b.issued[n] = false
		writeJSON(w, NonceResponse{Nonce: n})
	case "/funBIZ/QPay.WebAPI/api/Order":
		if b.httpStatus != 0 {
			http.Error(w, "maintenance", b.httpStatus)
			return
		}
		var env Envelope
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			http.Error(w, "bad envelope", http.StatusBadRequest)
			return
		}
		if used, ok := b.issued[env.Nonce]; !ok || used {
			http.Error(w, "nonce unknown or reused", http.StatusBadRequest)
			return
		}
		b.issued[env.Nonce] = true
		b.reqNonces = append(b.reqNonces, env.Nonce)
		resp, err := b.answer(env)
		if err != nil {
			b.t.Errorf("bank: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := SealResponse(b.hashID, env, NewNonce(time.Now()), resp)
		if err != nil {
			b.t.Errorf("SealResponse: %v", err)
			return
		}
		b.respNonces = append(b.respNonces, out.Nonce)
		if b.tamper != nil {
			b.tamper(&env, &out)
		}
		writeJSON(w, out)
	default:
		http.NotFound(w, r)
	}
}

func (b *fakeBank) answer(env Envelope) (any, error) {
	b.lastRequest, _ = Open(b.hashID, env)
	status := b.status
	if status == "" {
		status = StatusSuccess
	}
	desc := "S0000 – 處理成功"
	if status != StatusSuccess {
		desc = "E0602 收款方式未啟用"
	}
	switch env.APIService {
	case ServiceOrderCreate:
		var req OrderCreateRequest
		if err := OpenRequest(b.hashID, env, &req); err != nil {
			return nil, err
		}
		if err := req.Validate(); err != nil {
			return nil, err
		}
		resp := OrderCreateResponse{OrderNo: req.OrderNo, ShopNo: req.ShopNo, TSNo: "NA024900000210", PayType: req.PayType,
			AmountRaw: req.Amount * 100, Status: status, Description: desc}
		if req.PayType == PayTypeATM {
			resp.ATMParam = &ATMResult{AtmPayNo: "99922530174617", WebAtmURL: "https://x/PayWebATM?TD=1&TK=2", OtpURL: "https://x/PayOTP?TD=1&TK=2"}
		} else {
			resp.CardParam = &CardResult{CardPayURL: "https://x/card?TD=1&TK=2"}
		}
		return resp, nil
	case ServiceOrderPayQuery:
		var req PayQueryRequest
		if err := OpenRequest(b.hashID, env, &req); err != nil {
			return nil, err
		}
		return PayQueryResponse{ShopNo: req.ShopNo, PayToken: req.PayToken, Date: "202110022135", Status: status, Description: desc,
			TSResultContent: &TSResult{APType: "PayOut", TSNo: "NA024900000479", OrderNo: "A202110235940", ShopNo: req.ShopNo,
				PayType: "A", AmountRaw: "9440300", Status: "S", PayDate: "202110022130"}}, nil
	case ServiceOrderQuery:
		var req OrderQueryRequest
		if err := OpenRequest(b.hashID, env, &req); err != nil {
			return nil, err
		}
		if err := req.Validate(); err != nil {
			return nil, err
		}
		return OrderQueryResponse{ShopNo: req.ShopNo, Date: "202110032253", Status: status, Description: desc,
			OrderList: []OrderInfo{{OrderNo: "A1", AmountRaw: 79900, PayStatus: "1A400", RefundAmountRaw: 10000},
				{OrderNo: "A2", AmountRaw: 100, PayStatus: "1A200"}}}, nil
	}
	return nil, fmt.Errorf("unknown service %q", env.APIService)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func atmOrder(no string) OrderCreateRequest {
	return OrderCreateRequest{OrderNo: no, Amount: 500, PayType: PayTypeATM, ATMParam: ATMParam{ExpireDate: "20260131"},
		PrdtName: " 虛擬帳號訂單 ", ReturnURL: "https://shop.example/return", BackendURL: "https://shop.example/notify?x=1&y=2"}
}

func TestClientOrderCreate(t *testing.T) {
	bank, c := newFakeBank(t)
	ctx := context.Background()
	resp, err := c.OrderCreate(ctx, atmOrder("A1"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Amount != 500 || resp.AmountRaw != 50000 || resp.ATMParam == nil || resp.ATMParam.AtmPayNo != "99922530174617" {
		t.Errorf("resp %+v", resp)
	}
	// Trimmed, defaulted, Amount x100 on the wire, '&' and '/' unescaped.
	want := `{"ShopNo":"NA0249_001","OrderNo":"A1","Amount":50000,"CurrencyID":"TWD","PayType":"A","ATMParam":{"ExpireDate":"20260131"},"CardParam":{},"PrdtName":"虛擬帳號訂單","ReturnURL":"https://shop.example/return","BackendURL":"https://shop.example/notify?x=1&y=2"}`
	if string(bank.lastRequest) != want {
		t.Errorf("wire request\n%s\nwant\n%s", bank.lastRequest, want)
	}
	card := OrderCreateRequest{OrderNo: "C1", Amount: 1200, PayType: PayTypeCard, CardParam: CardParam{AutoBilling: "Y", PayTypeSub: "ONE"}, PrdtName: "信用卡訂單"}
	resp, err = c.OrderCreate(ctx, card)
	if err != nil || resp.CardParam == nil || resp.CardParam.CardPayURL == "" || resp.Amount != 1200 {
		t.Fatalf("card: %+v, %v", resp, err)
	}

	// X-KeyID on every call (Nonce and Order), trimmed.
	if len(bank.keyIDs) != 4 {
		t.Fatalf("%d calls, want 4 (Nonce+Order twice): %v", len(bank.keyIDs), bank.paths)
	}
	for i, k := range bank.keyIDs {
		if k != testKeyID {
			t.Errorf("call %d (%s): X-KeyID %q", i, bank.paths[i], k)
		}
	}
	// A fresh nonce per Order call, and each reply under a nonce of its own.
	if bank.reqNonces[0] == bank.reqNonces[1] {
		t.Error("nonce reused across calls")
	}
	for i := range bank.reqNonces {
		if bank.respNonces[i] == bank.reqNonces[i] {
			t.Errorf("call %d: response nonce equals request nonce", i)
		}
	}
}

func TestClientOrderPayQuery(t *testing.T) {
	_, c := newFakeBank(t)
	resp, err := c.OrderPayQuery(context.Background(), " 8ab3058e04bd1a58b54232987530c4faa6e97be7b1de009c1d230f125c7802c9\n")
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Paid() || resp.PayToken != "8ab3058e04bd1a58b54232987530c4faa6e97be7b1de009c1d230f125c7802c9" {
		t.Errorf("resp %+v", resp)
	}
	if err := resp.CheckPaid("A202110235940", 94403); err != nil {
		t.Error(err)
	}
	if _, err := c.OrderPayQuery(context.Background(), "  "); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("empty token: %v", err)
	}
}

func TestClientOrderQuery(t *testing.T) {
	_, c := newFakeBank(t)
	resp, err := c.OrderQuery(context.Background(), OrderQueryRequest{OrderNo: "A1", PayType: "A"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.OrderList) != 2 || resp.OrderList[0].Amount != 799 || resp.OrderList[0].RefundAmount != 100 || resp.OrderList[1].Amount != 1 {
		t.Errorf("resp %+v", resp.OrderList)
	}
	if _, err := c.OrderQuery(context.Background(), OrderQueryRequest{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("no criterion: %v", err)
	}
}

func TestClientRejectsTamperedResponse(t *testing.T) {
	flipHex := func(s string, i int) string {
		b := []byte(s)
		b[i] = map[bool]byte{true: 'B', false: 'A'}[b[i] == 'A']
		return string(b)
	}
	tests := []struct {
		name   string
		tamper func(req, resp *Envelope)
		want   []error
	}{
		{"flipped message hex, first block", func(_, r *Envelope) { r.Message = flipHex(r.Message, 5) }, []error{ErrBadSign, ErrBadCiphertext}},
		{"flipped message hex, middle", func(_, r *Envelope) { r.Message = flipHex(r.Message, len(r.Message)/2) }, []error{ErrBadSign, ErrBadCiphertext}},
		{"flipped message hex, last block", func(_, r *Envelope) { r.Message = flipHex(r.Message, len(r.Message)-3) }, []error{ErrBadSign, ErrBadCiphertext}},
		{"flipped sign", func(_, r *Envelope) { r.Sign = flipHex(r.Sign, 0) }, []error{ErrBadSign}},
		{"reply under the request nonce", func(q, r *Envelope) { r.Nonce = q.Nonce }, []error{ErrBadSign, ErrBadCiphertext}},
		{"no message", func(_, r *Envelope) { r.Message = "" }, []error{ErrBadEnvelope}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bank, c := newFakeBank(t)
			bank.tamper = tt.tamper
			resp, err := c.OrderCreate(context.Background(), atmOrder("A1"))
			ok := false
			for _, w := range tt.want {
				ok = ok || errors.Is(err, w)
			}
			if !ok || resp.OrderNo != "" {
				t.Fatalf("OrderCreate = %+v, %v; want one of %v", resp, err, tt.want)
			}
			t.Log(err)
			assertNoSecrets(t, err)
		})
	}
}

func TestClientStatusF(t *testing.T) {
	bank, c := newFakeBank(t)
	bank.status = StatusFailure
	resp, err := c.OrderCreate(context.Background(), atmOrder("A1"))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, ErrAPIFailure) || apiErr.Status != "F" || apiErr.Description != "E0602 收款方式未啟用" {
		t.Fatalf("err %v", err)
	}
	if resp.Status != "F" {
		t.Errorf("decoded response not returned with the APIError: %+v", resp)
	}
	if errors.Is(err, ErrBadSign) || errors.Is(err, ErrHTTPStatus) {
		t.Error("APIError must be distinct from verification and HTTP errors")
	}
	if _, err := c.OrderPayQuery(context.Background(), "tok"); !errors.As(err, &apiErr) {
		t.Errorf("OrderPayQuery: %v", err)
	}
	if _, err := c.OrderQuery(context.Background(), OrderQueryRequest{OrderNo: "A1"}); !errors.As(err, &apiErr) {
		t.Errorf("OrderQuery: %v", err)
	}
}

func TestClientHTTPError(t *testing.T) {
	bank, c := newFakeBank(t)
	bank.httpStatus = http.StatusServiceUnavailable
	_, err := c.OrderCreate(context.Background(), atmOrder("A1"))
	var httpErr *HTTPError
	if !errors.As(err, &httpErr) || !errors.Is(err, ErrHTTPStatus) || httpErr.StatusCode != 503 || httpErr.Endpoint != "Order" {
		t.Fatalf("err %v", err)
	}
	if errors.Is(err, ErrAPIFailure) || errors.Is(err, ErrBadSign) {
		t.Error("HTTP error must be distinct")
	}
	assertNoSecrets(t, err)
}

func TestClientConfig(t *testing.T) {
	_, good := newFakeBank(t)
	ctx := context.Background()
	tests := map[string]func(c *Client){
		"no KeyID":   func(c *Client) { c.KeyID = "  " },
		"no ShopNo":  func(c *Client) { c.ShopNo = "" },
		"no BaseURL": func(c *Client) { c.BaseURL = "" },
	}
	for name, f := range tests {
		c := *good
		f(&c)
		if _, err := c.OrderCreate(ctx, atmOrder("A1")); !errors.Is(err, ErrConfig) && !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	c := *good
	c.Keys.B2 = "not hex at all!!"
	if _, err := c.OrderCreate(ctx, atmOrder("A1")); !errors.Is(err, ErrBadKey) {
		t.Errorf("bad keys: %v", err)
	}
	c = *good
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/") // trailing slash added
	if _, err := c.OrderCreate(ctx, atmOrder("A1")); err != nil {
		t.Errorf("BaseURL without slash: %v", err)
	}
	req := atmOrder("A1")
	req.ShopNo = "OTHER_001"
	if _, err := good.OrderCreate(ctx, req); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("foreign ShopNo: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := good.Nonce(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
}

// assertNoSecrets: errors must never carry key material.
func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	hashID, _ := testKeys.HashID()
	for _, s := range []string{testKeys.A1, testKeys.A2, testKeys.B1, testKeys.B2, hashID} {
		if err != nil && strings.Contains(strings.ToUpper(err.Error()), s) {
			t.Errorf("error leaks key material: %v", err)
		}
	}
}
