package sinopac

import (
	"bytes"
	"encoding/json"
)

// Marshal encodes v as the bank's samples do: compact, raw UTF-8, '/' '&' '<'
// '>' unescaped, no trailing newline. With struct fields in documented order
// this reproduces the spec's plaintexts byte for byte. The bank parses the
// JSON, so byte-exactness matters for test vectors, not for acceptance.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
