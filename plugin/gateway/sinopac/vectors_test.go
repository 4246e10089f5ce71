package sinopac

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type vector struct {
	ID                 string `json:"id"`
	Direction          string `json:"direction"`
	APIService         string `json:"api_service"`
	A1                 string `json:"a1"`
	A2                 string `json:"a2"`
	B1                 string `json:"b1"`
	B2                 string `json:"b2"`
	ExpectedHashID     string `json:"expected_hash_id"`
	Nonce              string `json:"nonce"`
	ExpectedIV         string `json:"expected_iv"`
	Plaintext          string `json:"plaintext"`
	ExpectedSignString string `json:"expected_sign_string"`
	ExpectedSign       string `json:"expected_sign"`
	ExpectedMessage    string `json:"expected_message"`
	SelfComputed       bool   `json:"self_computed"`
}

func (v vector) keys() Keys { return Keys{A1: v.A1, A2: v.A2, B1: v.B1, B2: v.B2} }

func (v vector) envelope() Envelope {
	return Envelope{Version: Version, ShopNo: "x", APIService: v.APIService, Nonce: v.Nonce, Sign: v.ExpectedSign, Message: v.ExpectedMessage}
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	data, err := os.ReadFile("../testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var file struct {
		Sinopac []vector `json:"sinopac_envelope"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		tb.Fatal(err)
	}
	if len(file.Sinopac) == 0 {
		tb.Fatal("no sinopac_envelope vectors")
	}
	return file.Sinopac
}

func vectorByID(tb testing.TB, id string) vector {
	tb.Helper()
	for _, v := range loadVectors(tb) {
		if v.ID == id {
			return v
		}
	}
	tb.Fatalf("vector %s missing", id)
	return vector{}
}

// TestVectors checks every sinopac_envelope vector end to end: HashID, IV,
// sign string, Sign, Message both ways, and Open of the resulting envelope.
// S1 is self-computed by the spec authors (not bank-produced).
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			hashID, err := v.keys().HashID()
			if err != nil || hashID != v.ExpectedHashID {
				t.Fatalf("HashID = %q, %v; want %q", hashID, err, v.ExpectedHashID)
			}
			if got := IV(v.Nonce); got != v.ExpectedIV {
				t.Errorf("IV = %q, want %q", got, v.ExpectedIV)
			}
			plain := []byte(v.Plaintext)
			if got, err := SignString(plain); err != nil || got != v.ExpectedSignString {
				t.Errorf("SignString = %q, %v\nwant %q", got, err, v.ExpectedSignString)
			}
			if got, err := Sign(plain, v.Nonce, hashID); err != nil || got != v.ExpectedSign {
				t.Errorf("Sign = %q, %v; want %q", got, err, v.ExpectedSign)
			}
			if got, err := Encrypt(hashID, v.Nonce, plain); err != nil || got != v.ExpectedMessage {
				t.Errorf("Encrypt = %q, %v\nwant %q", got, err, v.ExpectedMessage)
			}
			for _, msg := range []string{v.ExpectedMessage, strings.ToLower(v.ExpectedMessage)} {
				if got, err := Decrypt(hashID, v.Nonce, msg); err != nil || string(got) != v.Plaintext {
					t.Errorf("Decrypt = %q, %v\nwant %q", got, err, v.Plaintext)
				}
			}
			env, err := SealRaw(hashID, "x", v.APIService, v.Nonce, plain)
			if err != nil || env.Sign != v.ExpectedSign || env.Message != v.ExpectedMessage || env.Version != "1.0.0" {
				t.Errorf("SealRaw = %+v, %v", env, err)
			}
			if got, err := Open(hashID, v.envelope()); err != nil || string(got) != v.Plaintext {
				t.Errorf("Open = %q, %v", got, err)
			}
		})
	}
}

// TestVectorsTypedRequests: the typed request structs marshal to exactly the
// vectors' plaintext bytes. The vectors carry "CardParam":{} / "ATMParam":{}
// for the unused parameter because the bank's .NET sample always sends both;
// OrderCreateRequest holds them as values, so it emits the same {}.
func TestVectorsTypedRequests(t *testing.T) {
	tests := []struct {
		id  string
		req any
	}{
		{"V1", OrderCreateRequest{
			ShopNo: "BA0026_001", OrderNo: "A201804270001", Amount: 500, CurrencyID: "TWD", PayType: PayTypeATM,
			ATMParam: ATMParam{ExpireDate: "20180502"}, PrdtName: "虛擬帳號訂單",
			ReturnURL:  "http://10.11.22.113:8803/QPay.ApiClient/Store/Return",
			BackendURL: "http://10.11.22.113:8803/QPay.ApiClient/AutoPush/PushSuccess",
		}},
		{"V2", OrderCreateRequest{
			ShopNo: "NA0001_001", OrderNo: "201807111119291750", Amount: 500, CurrencyID: "TWD", PayType: PayTypeCard,
			CardParam: CardParam{AutoBilling: "N", ExpMinutes: 30}, PrdtName: "信用卡訂單",
			ReturnURL:  "http://10.11.22.113:8803/QPay.ApiClient-Sandbox/Store/Return",
			BackendURL: "https://sandbox.sinopac.com/funBIZ.ApiClient/AutoPush/PushSuccess",
		}},
		{"V4", OrderCreateRequest{
			ShopNo: "NA0249_001", OrderNo: "A202109838256", Amount: 799, CurrencyID: "TWD", PayType: PayTypeATM,
			ATMParam: ATMParam{ExpireDate: "20211004"}, PrdtName: "虛擬帳號訂單",
			ReturnURL:  "http://10.11.22.113:8803/QPay.ApiClient/Store/Return",
			BackendURL: "http://10.11.22.113:8803/QPay.ApiClient/AutoPush/PushSuccess",
		}},
		{"S1", PayQueryRequest{ShopNo: "BA0026_001", PayToken: "da1547c3d0d1649af5049125b0880c0e227f31e107cbf4f0995bed28d0f066c1"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			v := vectorByID(t, tt.id)
			got, err := Marshal(tt.req)
			if err != nil || string(got) != v.Plaintext {
				t.Fatalf("Marshal = %s, %v\nwant %s", got, err, v.Plaintext)
			}
			if r, ok := tt.req.(OrderCreateRequest); ok {
				if err := r.Validate(); err != nil {
					t.Errorf("Validate: %v", err)
				}
			}
			hashID, _ := v.keys().HashID()
			env, err := Seal(hashID, "x", v.APIService, v.Nonce, tt.req)
			if err != nil || env.Message != v.ExpectedMessage || env.Sign != v.ExpectedSign {
				t.Errorf("Seal = %+v, %v", env, err)
			}
		})
	}
}

// TestVectorsServerSide opens the request vectors as the bank would and
// decodes them into the typed structs (Amount back in TWD).
func TestVectorsServerSide(t *testing.T) {
	for _, id := range []string{"V1", "V2", "V4"} {
		v := vectorByID(t, id)
		hashID, _ := v.keys().HashID()
		var req OrderCreateRequest
		if err := OpenRequest(hashID, v.envelope(), &req); err != nil {
			t.Fatalf("%s: OpenRequest: %v", id, err)
		}
		if want := map[string]int64{"V1": 500, "V2": 500, "V4": 799}[id]; req.Amount != want {
			t.Errorf("%s: Amount = %d TWD, want %d", id, req.Amount, want)
		}
		if err := req.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", id, err)
		}
	}
}

// TestVectorsResponses decodes the bank-produced responses. V1R re-marshals
// byte for byte; V3 and V5 put Amount/Status/Description before PayType (the
// bank's field order changed between versions), so for them only the decoded
// values are checked.
func TestVectorsResponses(t *testing.T) {
	tests := []struct {
		id, orderNo, tsNo, atmPayNo string
		raw                         int64
		roundTrip                   bool
	}{
		{"V1R", "A201804270001", "BA002600000037", "99922511001200", 50000, true},
		{"V3", "TEST20210922174825", "NA024900000210", "99922530174617", 50000, false},
		{"V5", "A202109838256", "NA024900000227", "99922530174963", 79900, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			v := vectorByID(t, tt.id)
			hashID, _ := v.keys().HashID()
			var resp OrderCreateResponse
			if err := openInto(hashID, v.envelope(), &resp); err != nil {
				t.Fatal(err)
			}
			if resp.OrderNo != tt.orderNo || resp.TSNo != tt.tsNo || resp.AmountRaw != tt.raw ||
				resp.Status != StatusSuccess || resp.Description != "S0000 – 處理成功" ||
				resp.ATMParam == nil || resp.ATMParam.AtmPayNo != tt.atmPayNo || resp.CardParam != nil {
				t.Errorf("decoded %+v", resp)
			}
			if tt.roundTrip {
				if got, _ := Marshal(resp); string(got) != v.Plaintext {
					t.Errorf("re-marshal = %s\nwant %s", got, v.Plaintext)
				}
			}
		})
	}
}

// TestVectorsResponseNonce: a response verified with the request nonce (V1)
// instead of its own (V1R) must fail.
func TestVectorsResponseNonce(t *testing.T) {
	req, resp := vectorByID(t, "V1"), vectorByID(t, "V1R")
	hashID, _ := resp.keys().HashID()
	env := resp.envelope()
	env.Nonce = req.Nonce
	if _, err := Open(hashID, env); !errors.Is(err, ErrBadSign) && !errors.Is(err, ErrBadCiphertext) {
		t.Fatalf("Open with request nonce: %v, want ErrBadSign or ErrBadCiphertext", err)
	}
}
