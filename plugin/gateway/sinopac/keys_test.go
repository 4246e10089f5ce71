package sinopac

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

var v1Keys = Keys{A1: "4D9709D699CA40EE", A2: "5A4FEF83140C4E9E", B1: "BC74301945134CB4", B2: "961F67F8FCA44AB9"}

const v1HashID = "17D8E6558DC60E702A6B57E1B9B7060D"

func TestHashID(t *testing.T) {
	tests := []struct {
		name string
		keys Keys
		want string
	}{
		{"V1", v1Keys, v1HashID},
		{"lower case in, upper case out", Keys{"4d9709d699ca40ee", "5a4fef83140c4e9e", "bc74301945134cb4", "961f67f8fca44ab9"}, v1HashID},
		{"surrounding spaces trimmed", Keys{" 4D9709D699CA40EE", "5A4FEF83140C4E9E\t", "BC74301945134CB4\n", " 961F67F8FCA44AB9 "}, v1HashID},
		// GUID-formatted issue is unconfirmed; normalised like the .NET sample.
		{"GUID form: dashes stripped, first 16 kept", Keys{"4D9709D6-99CA-40EE-0000-FFFFFFFFFFFF", "5A4FEF83-140C-4E9E-1111-111111111111", "BC743019-4513-4CB4", "961F67F8-FCA4-4AB9-"}, v1HashID},
		// XOR with leading zero bytes must stay zero-padded to 16 digits each.
		{"leading zero bytes padded", Keys{"0123456789ABCDEF", "0123456789ABCDE0", "00000000000000FF", "0000000000000000"}, "000000000000000F00000000000000FF"},
		{"all zero", Keys{"1111111111111111", "1111111111111111", "2222222222222222", "2222222222222222"}, strings.Repeat("0", 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.keys.HashID()
			if err != nil || got != tt.want {
				t.Fatalf("HashID = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestHashIDInvalid(t *testing.T) {
	secret := "ZZ9709D699CA40EE"
	for _, k := range []Keys{
		{A1: secret, A2: v1Keys.A2, B1: v1Keys.B1, B2: v1Keys.B2},
		{A1: v1Keys.A1, A2: "5A4F", B1: v1Keys.B1, B2: v1Keys.B2},
		{A1: v1Keys.A1, A2: v1Keys.A2, B1: "", B2: v1Keys.B2},
		{A1: v1Keys.A1, A2: v1Keys.A2, B1: v1Keys.B1, B2: "961F67F8FCA44AB "},
	} {
		_, err := k.HashID()
		if !errors.Is(err, ErrBadKey) {
			t.Errorf("HashID error %v, want ErrBadKey", err)
		}
		if err != nil && strings.Contains(err.Error(), "ZZ97") {
			t.Errorf("error leaks key material: %v", err)
		}
	}
}

func TestKeysRedacted(t *testing.T) {
	k := v1Keys
	holder := struct {
		Name string
		Keys Keys
	}{"shop", k}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		out = append(out, fmt.Sprintf(verb, k), fmt.Sprintf(verb, holder), fmt.Sprintf(verb, &holder))
	}
	out = append(out, k.String(), fmt.Sprint(k))
	js, _ := json.Marshal(holder)
	out = append(out, string(js))
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("cfg", "keys", k, "holder", holder)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("cfg", "keys", k)
	out = append(out, logBuf.String())
	for _, s := range out {
		for _, part := range []string{"4D9709", "4d9709", "5A4FEF", "BC7430", "961F67", "34443937"} { // last: %x of "4D97"
			if strings.Contains(s, part) {
				t.Errorf("key material in %q", s)
			}
		}
	}
	if !strings.Contains(logBuf.String(), redacted) {
		t.Errorf("log lacks %q: %s", redacted, logBuf.String())
	}
}
