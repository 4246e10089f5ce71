package sinopac

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/twpay/twpay/tests/fuzzcheck"
)

// Fuzz targets for what the bank sends us: the envelope (JSON, then
// decrypt and verify), the sign string, and the service JSON decoded from
// a verified plaintext. `make fuzz` runs each for FUZZTIME; the seeds
// (below and testdata/fuzz/) run in `make test`.

// fuzzHashIDs are the vectors' keys, so a fuzzed key index opens a
// vector's envelope.
func fuzzHashIDs(tb testing.TB) []string {
	var out []string
	for _, v := range loadVectors(tb) {
		h, err := v.keys().HashID()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

const hexDigits = "0123456789ABCDEF"

// FuzzOpen: an envelope as the bank's JSON, opened as Client.call and
// OpenRequest do. Whatever opens is exactly what our own SealRaw makes of
// the plaintext under that nonce (no sign or ciphertext we did not
// compute is accepted), and it is valid UTF-8.
func FuzzOpen(f *testing.F) {
	hashIDs := fuzzHashIDs(f)
	for i, v := range loadVectors(f) {
		b, _ := json.Marshal(v.envelope())
		fuzzcheck.Seed(f, b, uint8(i))
		fuzzcheck.Seed(f, bytes.ToLower(b), uint8(i))
	}
	fuzzcheck.Seed(f, []byte(`{"Nonce":"x","Sign":"00","Message":"00"}`), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, key uint8) {
		var env Envelope
		if json.Unmarshal(data, &env) != nil {
			return
		}
		hashID := hashIDs[int(key)%len(hashIDs)]
		plain, err := Open(hashID, env)
		if err != nil {
			if plain != nil || !(errors.Is(err, ErrBadEnvelope) || errors.Is(err, ErrBadCiphertext) || errors.Is(err, ErrBadSign)) {
				t.Fatalf("Open = %q, %v", plain, err)
			}
			return
		}
		resealed, err := SealRaw(hashID, env.ShopNo, env.APIService, env.Nonce, plain)
		if err != nil || resealed.Sign != strings.ToUpper(env.Sign) || resealed.Message != strings.ToUpper(env.Message) {
			t.Fatalf("Open accepted an envelope SealRaw does not make: %+v, resealed %+v, %v", env, resealed, err)
		}
		var v map[string]any
		if err := OpenRequest(hashID, env, &v); err == nil && (env.Version != Version || env.ShopNo == "" || env.APIService == "") {
			t.Fatalf("OpenRequest accepted %+v", env)
		}
	})
}

// FuzzSealOpen seals fuzzed plaintext with the real algorithm: it opens to
// itself; another sign (one hex digit off), another nonce or other keys
// are refused; a changed ciphertext is refused or (CBC is malleable, the
// bank signs top-level scalars only) leaves every signed field as it was.
func FuzzSealOpen(f *testing.F) {
	hashIDs := fuzzHashIDs(f)
	for i, v := range loadVectors(f) {
		fuzzcheck.Seed(f, []byte(v.Plaintext), v.Nonce, uint(i*31), uint8(i))
	}
	fuzzcheck.Seed(f, []byte(rexPayQuery), "NjM2", uint(5), uint8(1))
	fuzzcheck.Seed(f, []byte(`{"A":1,"a":"x","B":null,"C":[1],"D":{"E":"F"},"G":" "}`), "n", uint(0), uint8(2))
	f.Fuzz(func(t *testing.T, plain []byte, nonce string, pos uint, key uint8) {
		hashID := hashIDs[int(key)%len(hashIDs)]
		env, err := SealRaw(hashID, "NA0249_001", ServiceOrderPayQuery, nonce, plain)
		if err != nil {
			if !errors.Is(err, ErrBadPlaintext) && !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("SealRaw: %v", err)
			}
			return
		}
		signed, _ := SignString(plain)
		got, err := Open(hashID, env)
		if err != nil {
			if !utf8.Valid(plain) && errors.Is(err, ErrBadCiphertext) {
				return // Open refuses plaintext that is not UTF-8; the bank sends none
			}
			t.Fatalf("own envelope refused: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, sealed %q", got, plain)
		}

		i := int(pos % uint(len(env.Sign)))
		d := hexDigits[(strings.IndexByte(hexDigits, env.Sign[i])+1+int(pos/64)%15)%16]
		if _, err := Open(hashID, withEnv(env, func(e *Envelope) { e.Sign = e.Sign[:i] + string(d) + e.Sign[i+1:] })); !errors.Is(err, ErrBadSign) {
			t.Fatalf("sign digit %d changed: %v, want ErrBadSign", i, err)
		}
		if _, err := Open(hashID, withEnv(env, func(e *Envelope) { e.Nonce += "x" })); err == nil {
			t.Fatal("another nonce accepted")
		}
		if other := hashIDs[(int(key)+1)%len(hashIDs)]; other != hashID {
			if _, err := Open(other, env); err == nil {
				t.Fatal("other keys accepted")
			}
		}
		i = int(pos % uint(len(env.Message)))
		d = hexDigits[(strings.IndexByte(hexDigits, env.Message[i])+1+int(pos/64)%15)%16]
		changed, err := Open(hashID, withEnv(env, func(e *Envelope) { e.Message = e.Message[:i] + string(d) + e.Message[i+1:] }))
		if err == nil {
			if ss, err := SignString(changed); err != nil || ss != signed {
				t.Fatalf("a changed ciphertext opened with other signed fields: %q, want %q", ss, signed)
			}
		}
	})
}

func withEnv(e Envelope, f func(*Envelope)) Envelope { f(&e); return e }

// FuzzSignString: a plaintext's sign string is a function of its decoded
// top-level members, not of their spelling: re-encoding them gives the
// same string; and a booleans-free object always has one.
func FuzzSignString(f *testing.F) {
	for _, v := range loadVectors(f) {
		fuzzcheck.Seed(f, []byte(v.Plaintext))
	}
	fuzzcheck.Seed(f, []byte(rexPayQuery))
	fuzzcheck.Seed(f, []byte(rexOrderQuery))
	fuzzcheck.Seed(f, []byte(`{"Amount":3e6,"a":"x","A":"y","b":"\u00e9","c":true}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		ss, err := SignString(plain)
		if err != nil {
			if !errors.Is(err, ErrBadPlaintext) {
				t.Fatalf("SignString: %v", err)
			}
			return
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(plain, &members); err != nil {
			t.Fatal(err)
		}
		again, err := Marshal(members)
		if err != nil {
			t.Fatal(err)
		}
		if ss2, err := SignString(again); err != nil || ss2 != ss {
			t.Fatalf("re-encoded %s signs %q, %v; want %q", again, ss2, err, ss)
		}
	})
}

// FuzzLooseNumber: whatever LooseNumber decodes encodes and decodes back
// to the same text, and any text survives an encode/decode round trip.
func FuzzLooseNumber(f *testing.F) {
	for _, s := range []string{`12`, `"12"`, `""`, `null`, `-0.5e3`, `"abc"`, `true`, `{}`, `"\u00e9"`, `1e400`} {
		fuzzcheck.Seed(f, []byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var n LooseNumber
		if json.Unmarshal(data, &n) == nil {
			b, err := json.Marshal(n)
			var back LooseNumber
			if err != nil || json.Unmarshal(b, &back) != nil || back != n {
				t.Fatalf("%s -> %q -> %s -> %q, %v", data, n, b, back, err)
			}
		}
		if s := string(data); utf8.Valid(data) {
			b, err := json.Marshal(LooseNumber(s))
			var back LooseNumber
			if err != nil || json.Unmarshal(b, &back) != nil || string(back) != s {
				t.Fatalf("text %q -> %s -> %q, %v", s, b, back, err)
			}
		}
	})
}

// FuzzServiceJSON decodes a verified plaintext into the service replies:
// nothing panics, CheckPaid passes only for a successful PayOut of
// exactly this order and amount, and what decodes re-marshals to an
// equal value.
func FuzzServiceJSON(f *testing.F) {
	for _, s := range []string{rexPayQuery, rexOrderQuery, `{"Status":"S","TSResultContent":{"APType":"PayOut","Status":"S","OrderNo":"O1","Amount":"+50000"}}`,
		`{"OrderList":[{"Amount":1e2,"CardParam":{"BonusCount":"3","StagingEachAmount":12}}]}`} {
		fuzzcheck.Seed(f, []byte(s), "A202110235940", int64(94403))
	}
	for _, v := range loadVectors(f) {
		fuzzcheck.Seed(f, []byte(v.Plaintext), "O1", int64(500))
	}
	f.Fuzz(func(t *testing.T, data []byte, orderNo string, amount int64) {
		var pq PayQueryResponse
		if json.Unmarshal(data, &pq) == nil {
			if err := pq.CheckPaid(orderNo, amount); err == nil {
				r := pq.TSResultContent
				got, aerr := r.AmountTWD()
				if pq.Status != StatusSuccess || r.Status != StatusSuccess || r.APType != APTypePayOut || r.OrderNo != orderNo || aerr != nil || got != amount {
					t.Fatalf("CheckPaid(%q, %d) accepted %+v / %+v", orderNo, amount, pq, r)
				}
			}
			roundTrip(t, pq)
		}
		var oq OrderQueryResponse
		if json.Unmarshal(data, &oq) == nil {
			for _, o := range oq.OrderList {
				if twd, err := fromWire(o.AmountRaw); err == nil && twd*100 != o.AmountRaw {
					t.Fatalf("fromWire(%d) = %d", o.AmountRaw, twd)
				}
			}
			roundTrip(t, oq)
		}
	})
}

func roundTrip[T any](t *testing.T, v T) {
	t.Helper()
	b, err := Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%+v): %v", v, err)
	}
	var back T
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, v) {
		t.Fatalf("%s decodes to %+v, %v; want %+v", b, back, err, v)
	}
}

// A huge envelope or plaintext costs memory in proportion to its size.
func TestOpenHugeInput(t *testing.T) {
	hashID := fuzzHashIDs(t)[0]
	plain := []byte(`{"A":"` + strings.Repeat("長", 1<<18) + `","N":{"x":[` + strings.Repeat("1,", 1<<17) + `1]}}`)
	env, err := SealRaw(hashID, "x", "OrderQuery", "n", plain)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(env)
	fuzzcheck.Bounded(t, "open", len(data), 16, func() {
		var e Envelope
		_ = json.Unmarshal(data, &e)
		if _, err := Open(hashID, e); err != nil {
			t.Error(err)
		}
	})
	deep := []byte(strings.Repeat(`{"a":`, 1<<16) + "1" + strings.Repeat("}", 1<<16))
	fuzzcheck.Bounded(t, "deep", len(deep), 64, func() { _, _ = SignString(deep) })
}
