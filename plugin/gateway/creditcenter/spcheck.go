package creditcenter

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
)

// ErrSPCheckInput: spcheck cannot be computed from these values.
var ErrSPCheckInput = errors.New("creditcenter: cannot compute spcheck")

// SPCheck computes the check value as the vendor plugins do
// (creditcenter.md §5a), in int64 arithmetic:
//
//	T = int(process_time) + int(gwsr) + amount
//	a = the 1st, 3rd and 5th decimal digits of T, b = the 2nd, 4th and 6th
//	    (a digit T lacks is omitted; "021" reads as 21, "" as 0)
//	spcheck = (K mod T) + K + a + b, K the check code
//
// T = 0 is refused. An empty gwsr counts as 0, as PHP's intval("") does.
func SPCheck(checkCode, processTime, gwsr string, amount int64) (int64, error) {
	k, err := decimal(checkCode, 10)
	if err != nil {
		return 0, fmt.Errorf("%w: check code: %v", ErrSPCheckInput, err)
	}
	t, err := decimal(processTime, 6)
	if err != nil {
		return 0, fmt.Errorf("%w: process_time: %v", ErrSPCheckInput, err)
	}
	g := int64(0)
	if gwsr != "" {
		if g, err = decimal(gwsr, 10); err != nil {
			return 0, fmt.Errorf("%w: gwsr: %v", ErrSPCheckInput, err)
		}
	}
	if amount < 0 || amount > MaxAmount {
		return 0, fmt.Errorf("%w: amount %d", ErrSPCheckInput, amount)
	}
	t += g + amount
	if t == 0 {
		return 0, fmt.Errorf("%w: T is 0", ErrSPCheckInput)
	}
	a, b := SPCheckDigits(t)
	return k%t + k + a + b, nil
}

// SPCheckDigits splits T into a (digits 1, 3, 5) and b (digits 2, 4, 6).
func SPCheckDigits(t int64) (a, b int64) {
	s := strconv.FormatInt(t, 10)
	var as, bs []byte
	for i := 0; i < len(s) && i < 6; i++ {
		if i%2 == 0 {
			as = append(as, s[i])
		} else {
			bs = append(bs, s[i])
		}
	}
	a, _ = strconv.ParseInt("0"+string(as), 10, 64)
	b, _ = strconv.ParseInt("0"+string(bs), 10, 64)
	return a, b
}

func decimal(s string, maxDigits int) (int64, error) {
	if s == "" || len(s) > maxDigits || !digits.MatchString(s) {
		return 0, fmt.Errorf("%q is not 1-%d digits", s, maxDigits)
	}
	return strconv.ParseInt(s, 10, 64)
}

// SPCheckOf computes cb's spcheck under m's check code.
func (m Merchant) SPCheckOf(cb *Callback) (int64, error) {
	return SPCheck(m.CheckCode.Reveal(), cb.ProcessTime, cb.Gwsr, cb.Amount)
}

// Sign sets cb.SPCheck for m: what the gateway does, for stand-ins and
// test fixtures (and, since spcheck is no MAC, what any forger can do).
func (m Merchant) Sign(cb *Callback) error {
	sp, err := m.SPCheckOf(cb)
	if err != nil {
		return err
	}
	cb.SPCheck = sp
	return nil
}

// Verify checks cb's spcheck against m's check code, comparing the values
// as integers in constant time. It proves little (see the package doc):
// a payment also needs Recheck.
func (m Merchant) Verify(cb *Callback) error {
	if !SameClient(cb.Client, m.Client) {
		return fmt.Errorf("%w: callback for client %q, merchant is %q", ErrSPCheck, cb.Client, m.Client)
	}
	want, err := m.SPCheckOf(cb)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSPCheck, err)
	}
	got, exp := strconv.FormatInt(cb.SPCheck, 10), strconv.FormatInt(want, 10)
	if subtle.ConstantTimeCompare([]byte(got), []byte(exp)) != 1 {
		return ErrSPCheck
	}
	return nil
}
