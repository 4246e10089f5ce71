package ecpay

import (
	"crypto/sha256"
	"strings"
	"testing"
)

func ev2(b *testing.B) macVector {
	for _, v := range loadVectorsTB(b) {
		if v.ID == "EV2" {
			return v
		}
	}
	b.Fatal("EV2 missing")
	return macVector{}
}

// BenchmarkCheckMacValue signs EV2, a real 46-field stage callback: the
// work every notify verification does.
func BenchmarkCheckMacValue(b *testing.B) {
	v := ev2(b)
	b.ReportAllocs()
	for b.Loop() {
		if CheckMacValue(v.Params, v.HashKey, v.HashIV, SHA256) != v.Expected {
			b.Fatal("mismatch")
		}
	}
}

// BenchmarkBaselineSHA256 hashes the same fields already joined, without
// sorting or .NET URL-encoding: the ratio to BenchmarkCheckMacValue is
// what ECPay's canonical form costs.
func BenchmarkBaselineSHA256(b *testing.B) {
	v := ev2(b)
	var sb strings.Builder
	for k, val := range v.Params {
		sb.WriteString(k + "=" + val + "&")
	}
	raw := []byte(sb.String())
	b.ReportAllocs()
	for b.Loop() {
		sha256.Sum256(raw)
	}
}
