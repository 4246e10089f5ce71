package sinopac

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSignString(t *testing.T) {
	tests := []struct {
		name, plain, want string
	}{
		{"zero kept", `{"B":"x","Amount":0}`, "Amount=0&B=x"},
		{"number literal text kept", `{"A":3000000,"B":-5,"C":1.50,"D":1e3}`, "A=3000000&B=-5&C=1.50&D=1e3"},
		{"nested, arrays, null, empty and blank dropped", `{"Z":"z","ATMParam":{"ExpireDate":"20180502"},"CardParam":{},"OrderList":[{"A":1}],"L":[],"N":null,"E":"","W":" \t "}`, "Z=z"},
		{"raw values: no URL-encoding, CJK, inner spaces, & and =", `{"U":"http://a/b?c=d&e=f","P":"虛擬 帳號","Q":"a+b%20"}`, "P=虛擬 帳號&Q=a+b%20&U=http://a/b?c=d&e=f"},
		{"JSON escapes decoded", `{"D":"S0000 \u2013 \u8655\u7406\u6210\u529f","S":"a\/b"}`, "D=S0000 – 處理成功&S=a/b"},
		{"case-insensitive sort", `{"b":"1","A":"2","C":"3","aa":"4"}`, "A=2&aa=4&b=1&C=3"},
		{"digits before letters", `{"Param2":"b","Param1":"a","ParamX":"c"}`, "Param1=a&Param2=b&ParamX=c"},
		{"leading space kept in value (callers trim)", `{"A":" x"}`, "A= x"},
		{"whitespace around JSON", " \n{ \"A\" : 1 }\n", "A=1"},
		{"empty object", `{}`, ""},
		{"duplicate key: last wins like the JSON decoders", `{"A":"1","A":"2"}`, "A=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SignString([]byte(tt.plain))
			if err != nil || got != tt.want {
				t.Fatalf("SignString = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestSignStringSortRule pins the .NET OrdinalIgnoreCase rule the bank uses
// (fold to upper case). It differs from lower-case folding only for
// [ \ ] ^ _ ` in key names; no documented key has them, which the second
// half checks over every documented top-level name.
func TestSignStringSortRule(t *testing.T) {
	if got, _ := SignString([]byte(`{"A_B":"1","AB":"2"}`)); got != "AB=2&A_B=1" {
		t.Errorf("got %q: '_' (0x5F) must sort after letters folded to upper case", got)
	}
	if got, _ := SignString([]byte(`{"a":"1","A":"2"}`)); got != "A=2&a=1" {
		t.Errorf("got %q: names equal after folding fall back to ordinal order", got)
	}
	documented := strings.Fields(`ShopNo OrderNo Amount CurrencyID PayType PrdtName ReturnURL BackendURL Memo
		Param1 Param2 Param3 TSNo Status Description PayToken Date OrderDateTimeS OrderDateTimeE PayDateTimeS
		PayDateTimeE PayFlag APType PayDate LeftCCNo RightCCNo CCExpDate CCToken Command Remark BillDate
		AllotDateS AllotDateE QRCodeStatus QRCodeSize`)
	upper, lower := slices.Clone(documented), slices.Clone(documented)
	slices.SortFunc(upper, compareKeys)
	slices.SortFunc(lower, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	if !slices.Equal(upper, lower) {
		t.Errorf("documented names sort differently:\n%v\n%v", upper, lower)
	}
}

func TestSignStringRejects(t *testing.T) {
	for _, plain := range []string{
		`{"A":true}`, `{"A":false}`, // booleans: .NET would sign "True" (unconfirmed), refused
		`[1,2]`, `"x"`, `null`, `1`, ``, `{"A":1`, `{"A":1} x`,
	} {
		if _, err := SignString([]byte(plain)); !errors.Is(err, ErrBadPlaintext) {
			t.Errorf("SignString(%q) error %v, want ErrBadPlaintext", plain, err)
		}
	}
}

func TestSign(t *testing.T) {
	// Same V1 vector through Sign: sign string + nonce + HashID.
	v := vectorByID(t, "V1")
	got, err := Sign([]byte(v.Plaintext), v.Nonce, v1HashID)
	if err != nil || got != v.ExpectedSign {
		t.Fatalf("Sign = %q, %v", got, err)
	}
	if other, _ := Sign([]byte(v.Plaintext), v.Nonce+"x", v1HashID); other == got {
		t.Error("sign does not depend on the nonce")
	}
}
