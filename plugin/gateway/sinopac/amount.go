package sinopac

import (
	"fmt"
	"math"
	"strconv"
)

// Amounts on the wire carry two implied decimals: NT$500 is 50000 (spec §5).
// This package speaks whole TWD and converts at the edge.

const maxTWD = math.MaxInt64 / 100

func toWire(twd int64) (int64, error) {
	if twd > maxTWD || twd < -maxTWD {
		return 0, fmt.Errorf("%w: %d TWD overflows the wire format", ErrBadAmount, twd)
	}
	return twd * 100, nil
}

func fromWire(raw int64) (int64, error) {
	if raw%100 != 0 {
		return 0, fmt.Errorf("%w: wire amount %d is not a whole TWD", ErrBadAmount, raw)
	}
	return raw / 100, nil
}

// fromWireString converts TSResultContent.Amount, which is a JSON string.
func fromWireString(raw string) (int64, error) {
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: wire amount %q is not an integer", ErrBadAmount, raw)
	}
	return fromWire(n)
}
