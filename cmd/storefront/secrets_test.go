package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// keys the demo app holds: the ECPay stage keys, the SinoPac hash values,
// HashID and KeyID. None may appear in a log line or any page.
func keys(t *testing.T) []string {
	hashID, err := demoSinoPacShop.Keys.HashID()
	if err != nil {
		t.Fatal(err)
	}
	k := demoSinoPacShop.Keys
	return []string{
		ecpay.StageMerchant.HashKey.Reveal(), ecpay.StageMerchant.HashIV.Reveal(),
		k.A1, k.A2, k.B1, k.B2, hashID, demoSinoPacKeyID, demoCreditCenter.CheckCode.Reveal(),
	}
}

// cardNumbers are the full test card numbers: the sandboxes' own pages
// list them as instructions, but our pages and the log may show at most
// the first 6 / last 4 digits.
var cardNumbers = []string{"4311952222222222", "4311-9522-2222-2222", "4003551111111111", "4003-5511-1111-1111",
	"4000000000000002", "4000-0000-0000-0002", "4000000000009995", "4000-0000-0000-9995"}

func assertNoSecrets(t *testing.T, where, text string) {
	t.Helper()
	secrets := keys(t)
	if !strings.Contains(where, "/sandbox/") {
		secrets = append(secrets, cardNumbers...)
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s shows a secret (%.4s...)", where, s)
		}
	}
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
