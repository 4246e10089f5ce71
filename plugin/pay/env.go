package pay

import (
	"fmt"
	"strconv"
)

// EnvAmounts reads positive integer TWD amounts from getenv into dsts,
// keyed by variable name; unset variables leave their target alone.
func EnvAmounts(getenv func(string) string, dsts map[string]*int64) error {
	for name, dst := range dsts {
		if v := getenv(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("twpay: %s=%q is not a positive integer (TWD)", name, v)
			}
			*dst = n
		}
	}
	return nil
}

// EnvInts reads positive integers from getenv into dsts.
func EnvInts(getenv func(string) string, dsts map[string]*int) error {
	for name, dst := range dsts {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return fmt.Errorf("twpay: %s=%q is not a positive integer", name, v)
			}
			*dst = n
		}
	}
	return nil
}
