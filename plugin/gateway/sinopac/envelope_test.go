package sinopac

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEncryptDecryptRoundTrip(t *testing.T) {
	nonce := NewNonce(time.Now())
	for n := range 50 { // every padding length, including a full pad block
		plain := bytes.Repeat([]byte("豐"), n)[:n]
		msg, err := Encrypt(v1HashID, nonce, plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg)%32 != 0 || len(msg) <= 2*len(plain) || msg != strings.ToUpper(msg) {
			t.Fatalf("n=%d: bad message %q", n, msg)
		}
		got, err := Decrypt(v1HashID, nonce, msg)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("n=%d: Decrypt = %q, %v", n, got, err)
		}
	}
}

func TestDecryptErrors(t *testing.T) {
	nonce := "n"
	good, _ := Encrypt(v1HashID, nonce, []byte(`{"A":"1"}`))
	// A last block that decrypts to bad padding: encrypt 16 bytes ending in 0x00
	// and drop the pad block.
	zeroEnd, _ := Encrypt(v1HashID, nonce, make([]byte, 16))
	tests := map[string]string{
		"empty":           "",
		"odd length":      good[:len(good)-1],
		"not block-sized": good[:len(good)-2],
		"not hex":         "Z" + good[1:],
		"bad padding":     zeroEnd[:32],
	}
	// A wrong nonce (IV) only garbles block 1 in CBC, so Decrypt cannot see
	// it; Open's sign check does (TestOpenRejects).
	for name, msg := range tests {
		if _, err := Decrypt(v1HashID, nonce, msg); !errors.Is(err, ErrBadCiphertext) {
			t.Errorf("%s: error %v, want ErrBadCiphertext", name, err)
		}
	}
	if _, err := Decrypt("short", nonce, good); !errors.Is(err, ErrBadKey) {
		t.Errorf("short HashID: %v, want ErrBadKey", err)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	req := PayQueryRequest{ShopNo: "NA0249_001", PayToken: "abc"}
	nonce := NewNonce(time.Now())
	env, err := Seal(v1HashID, "NA0249_001", ServiceOrderPayQuery, nonce, req)
	if err != nil {
		t.Fatal(err)
	}
	if env.Version != "1.0.0" || env.ShopNo != "NA0249_001" || env.APIService != ServiceOrderPayQuery || env.Nonce != nonce || len(env.Sign) != 64 {
		t.Fatalf("envelope %+v", env)
	}
	plain, err := Open(v1HashID, env)
	if err != nil || string(plain) != `{"ShopNo":"NA0249_001","PayToken":"abc"}` {
		t.Fatalf("Open = %s, %v", plain, err)
	}
	lower := env
	lower.Sign, lower.Message = strings.ToLower(env.Sign), strings.ToLower(env.Message)
	if _, err := Open(v1HashID, lower); err != nil {
		t.Errorf("lower-case hex refused: %v", err)
	}
	var back PayQueryRequest
	if err := OpenRequest(v1HashID, env, &back); err != nil || back != req {
		t.Errorf("OpenRequest = %+v, %v", back, err)
	}
}

func TestOpenRejects(t *testing.T) {
	v := vectorByID(t, "V1R")
	good := v.envelope()
	mutate := func(f func(*Envelope)) Envelope { e := good; f(&e); return e }
	otherKeys, _ := Keys{"1111111111111111", "2222222222222222", "3333333333333333", "4444444444444444"}.HashID()

	tests := []struct {
		name   string
		hashID string
		env    Envelope
		want   []error // any of
	}{
		{"wrong sign", v1HashID, mutate(func(e *Envelope) { e.Sign = strings.Repeat("A", 64) }), []error{ErrBadSign}},
		{"sign of another nonce", v1HashID, mutate(func(e *Envelope) { e.Sign = vectorByID(t, "V1").ExpectedSign }), []error{ErrBadSign}},
		{"truncated sign", v1HashID, mutate(func(e *Envelope) { e.Sign = e.Sign[:63] }), []error{ErrBadSign}},
		{"request nonce instead of response nonce", v1HashID, mutate(func(e *Envelope) { e.Nonce = vectorByID(t, "V1").Nonce }), []error{ErrBadSign}},
		{"wrong keys", otherKeys, good, []error{ErrBadCiphertext, ErrBadSign}},
		{"missing nonce", v1HashID, mutate(func(e *Envelope) { e.Nonce = "" }), []error{ErrBadEnvelope}},
		{"missing sign", v1HashID, mutate(func(e *Envelope) { e.Sign = "" }), []error{ErrBadEnvelope}},
		{"missing message", v1HashID, mutate(func(e *Envelope) { e.Message = "" }), []error{ErrBadEnvelope}},
		{"truncated message", v1HashID, mutate(func(e *Envelope) { e.Message = e.Message[:len(e.Message)-32] }), []error{ErrBadCiphertext, ErrBadSign}},
	}
	raw, _ := hex.DecodeString(good.Message)
	for i := range raw { // flip one bit in every byte position
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		tests = append(tests, struct {
			name   string
			hashID string
			env    Envelope
			want   []error
		}{"flip byte", v1HashID, mutate(func(e *Envelope) { e.Message = strings.ToUpper(hex.EncodeToString(b)) }), []error{ErrBadCiphertext, ErrBadSign}})
	}
	for _, tt := range tests {
		plain, err := Open(tt.hashID, tt.env)
		ok := false
		for _, w := range tt.want {
			ok = ok || errors.Is(err, w)
		}
		if !ok || plain != nil {
			t.Errorf("%s: Open = %q, %v; want one of %v", tt.name, plain, err, tt.want)
		}
	}
}

func TestServerHelpers(t *testing.T) {
	req, err := Seal(v1HashID, "S", ServiceOrderPayQuery, "n1", PayQueryRequest{ShopNo: "S", PayToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	bad := req
	bad.Version = "2.0.0"
	if err := OpenRequest(v1HashID, bad, new(PayQueryRequest)); !errors.Is(err, ErrBadEnvelope) {
		t.Errorf("wrong version: %v", err)
	}
	if _, err := SealResponse(v1HashID, req, req.Nonce, PayQueryResponse{}); !errors.Is(err, ErrBadEnvelope) {
		t.Errorf("reused nonce: %v", err)
	}
	resp, err := SealResponse(v1HashID, req, "n2", PayQueryResponse{Status: "S"})
	if err != nil || resp.APIService != req.APIService || resp.ShopNo != "S" || resp.Nonce != "n2" {
		t.Fatalf("SealResponse = %+v, %v", resp, err)
	}
	if _, err := Open(v1HashID, resp); err != nil {
		t.Error(err)
	}
}

func TestNewNonce(t *testing.T) {
	now := time.Date(2018, 4, 27, 13, 34, 42, 288_300_000, Taipei)
	a, b := NewNonce(now), NewNonce(now)
	if len(a) != 108 || a == b {
		t.Fatalf("nonces %q %q", a, b)
	}
	// Same shape as the V1 nonce, whose decoded prefix is 63660432882288.3 for
	// 2018-04-27 13:34:42.2883 Taiwan wall clock (as decoded; meaning unconfirmed).
	dec, err := base64.StdEncoding.DecodeString(a)
	if err != nil || !strings.HasPrefix(string(dec), "63660432882288.3:") || len(dec) != 81 {
		t.Errorf("decoded %q, %v", dec, err)
	}
}
