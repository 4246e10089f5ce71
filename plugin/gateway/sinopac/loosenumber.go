package sinopac

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// LooseNumber is a numeric field whose wire type no public sample shows. It
// accepts a JSON number, a string or null and keeps the text, so an
// unexpected type cannot make a whole OrderQuery fail to decode.
type LooseNumber string

// UnmarshalJSON accepts 12, "12", "" and null.
func (n *LooseNumber) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*n = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = LooseNumber(s)
	case len(b) > 0 && (b[0] == '-' || '0' <= b[0] && b[0] <= '9'):
		*n = LooseNumber(b)
	default:
		return fmt.Errorf("sinopac: %s is neither number nor string", b)
	}
	return nil
}

// MarshalJSON writes a number when the text is one, else a string.
func (n LooseNumber) MarshalJSON() ([]byte, error) {
	if _, err := strconv.ParseFloat(string(n), 64); err == nil && json.Valid([]byte(n)) {
		return []byte(n), nil
	}
	return json.Marshal(string(n))
}

// Int64 parses the text as a base-10 integer.
func (n LooseNumber) Int64() (int64, error) { return strconv.ParseInt(string(n), 10, 64) }
