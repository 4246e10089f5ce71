package creditcenter

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/twpay/twpay/plugin/gateway"
)

// Merchant is one credit-center merchant: its merchant number ("client")
// and its check code (檢查碼, 8 digits, shown in the merchant back office),
// the key of spcheck. The check code is a secret: it prints as "[redacted]".
type Merchant struct {
	Client    string
	CheckCode gateway.Secret
}

// Legacy endpoints (creditcenter.md §2). They are probably retired
// (UNCONFIRMED); no separate test host is known for form_Sc_to5.php.
const (
	ProductionFormURL    = "https://ecpay.com.tw/form_Sc_to5.php"
	ProductionRecheckURL = "https://ecpay.com.tw/g_recheck.php"
)

// ProductionHosts are the hosts known to serve this page and its re-check
// (ECPay, allPay's credit host, the older Green World host).
var ProductionHosts = []string{"ecpay.com.tw", "www.ecpay.com.tw", "credit.allpay.com.tw", "gwpay.com.tw", "www.gwpay.com.tw"}

// PublishedMerchants are merchant numbers and check codes shipped as
// defaults in public vendor plugins (creditcenter.md §8, unconfirmed as
// test accounts): anyone can compute spcheck with them, so production must
// never accept them.
var PublishedMerchants = []Merchant{
	{Client: "3", CheckCode: "94499380"}, // ECPay plugins' default
	{Client: "4", CheckCode: "94499380"}, // allPay plugins' default
}

// Published reports whether m uses a published merchant number or check code.
func Published(m Merchant) bool {
	for _, p := range PublishedMerchants {
		if trimZeros(m.Client) == p.Client || m.CheckCode == p.CheckCode {
			return true
		}
	}
	return false
}

var (
	clientPattern    = regexp.MustCompile(`^[0-9]{1,6}$`)
	checkCodePattern = regexp.MustCompile(`^[0-9]{8}$`)
)

// ErrConfig: a merchant's number or check code has the wrong shape.
var ErrConfig = errors.New("creditcenter: invalid merchant configuration")

// Validate checks the shapes the spec gives: client at most 6 digits (the
// close API pads it to 6), check code 8 digits.
func (m Merchant) Validate() error {
	if !clientPattern.MatchString(m.Client) {
		return fmt.Errorf("%w: client %q must be 1-6 digits", ErrConfig, m.Client)
	}
	if !checkCodePattern.MatchString(m.CheckCode.Reveal()) {
		return fmt.Errorf("%w: the check code must be 8 digits", ErrConfig)
	}
	return nil
}

// SameClient compares merchant numbers as numbers ("003" is client 3).
func SameClient(a, b string) bool { return trimZeros(a) == trimZeros(b) }

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
