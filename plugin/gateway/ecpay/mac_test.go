package ecpay

import (
	"encoding/json"
	"os"
	"testing"
)

type macVector struct {
	ID        string            `json:"id"`
	HashKey   string            `json:"hash_key"`
	HashIV    string            `json:"hash_iv"`
	Algorithm string            `json:"algorithm"`
	Params    map[string]string `json:"params"`
	Expected  string            `json:"expected"`
}

func loadVectors(t *testing.T) []macVector { return loadVectorsTB(t) }

func loadVectorsTB(t testing.TB) []macVector {
	t.Helper()
	raw, err := os.ReadFile("../testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		ECPay []macVector `json:"ecpay_checkmacvalue"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.ECPay) < 10 {
		t.Fatalf("expected every ECPay vector, got %d", len(file.ECPay))
	}
	return file.ECPay
}

// Every official ECPay vector, including EV2 (46 fields, lower-case extras,
// verifies only with a case-insensitive sort) and V8 (a value with a
// leading space, hashed as sent).
func TestCheckMacValueVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			alg := SHA256
			if v.Algorithm == "md5" {
				alg = MD5
			}
			if got := CheckMacValue(v.Params, v.HashKey, v.HashIV, alg); got != v.Expected {
				t.Fatalf("CheckMacValue = %s, want %s", got, v.Expected)
			}
			// The same fields as a callback verify, with the MAC in any case.
			if alg == SHA256 {
				m := Merchant{ID: v.Params["MerchantID"], HashKey: secret(v.HashKey), HashIV: secret(v.HashIV)}
				fields := clone(v.Params)
				fields[MACField] = lower(v.Expected)
				if err := m.Verify(fields); err != nil {
					t.Fatalf("Verify: %v", err)
				}
			}
		})
	}
}

func TestCaseSensitiveSortWouldFailEV2(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.ID != "EV2" {
			continue
		}
		m := Merchant{HashKey: secret(v.HashKey), HashIV: secret(v.HashIV)}
		fields := clone(v.Params)
		fields[MACField] = v.Expected
		if err := m.Verify(fields); err != nil {
			t.Fatal(err)
		}
		// Dropping one lower-case extra field must break the MAC: every
		// posted field counts, including the ones we do not use.
		delete(fields, "gwsr")
		if err := m.Verify(fields); err != ErrBadMAC {
			t.Fatalf("without gwsr: %v, want ErrBadMAC", err)
		}
		return
	}
	t.Fatal("EV2 missing from vectors")
}

func TestEncodeDotNetTable(t *testing.T) {
	cases := []struct{ in, want string }{
		{"AZaz09-_.!*()", "azaz09-_.!*()"},
		{" ", "+"},
		{"~", "%7e"},
		{"'", "%27"},
		{"@#$%^&=+;?/\\><`[]{}:\",|", "%40%23%24%25%5e%26%3d%2b%3b%3f%2f%5c%3e%3c%60%5b%5d%7b%7d%3a%22%2c%7c"},
		{"促", "%e4%bf%83"},
		{"\r\n", "%0d%0a"},
	}
	for _, c := range cases {
		if got := Encode(c.in); got != c.want {
			t.Errorf("Encode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	m := StageMerchant
	base := map[string]string{"MerchantID": m.ID, "MerchantTradeNo": "A1", "RtnCode": "1", "TradeAmt": "100"}
	signed := clone(base)
	signed[MACField] = m.Sign(base)
	cases := []struct {
		name   string
		mutate func(map[string]string)
		want   error
	}{
		{"intact", func(map[string]string) {}, nil},
		{"no mac", func(f map[string]string) { delete(f, MACField) }, ErrMissingMAC},
		{"empty mac", func(f map[string]string) { f[MACField] = "" }, ErrMissingMAC},
		{"amount changed", func(f map[string]string) { f["TradeAmt"] = "1" }, ErrBadMAC},
		{"field added", func(f map[string]string) { f["extra"] = "" }, ErrBadMAC},
		{"truncated mac", func(f map[string]string) { f[MACField] = f[MACField][:63] }, ErrBadMAC},
		{"md5 mac", func(f map[string]string) {
			f[MACField] = CheckMacValue(base, "pwFHCqoQZGmho4w6", "EkRm7iFT261dpevs", MD5)
		}, ErrBadMAC},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := clone(signed)
			c.mutate(f)
			if err := m.Verify(f); err != c.want {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
