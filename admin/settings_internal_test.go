package admin

import (
	"reflect"
	"testing"

	"github.com/twpay/twpay/plugin/pay"
)

// The warnings for one callback URL, by mode: what a gateway's servers
// cannot reach (an alarm, a note in sandbox mode where the in-process
// sandbox can), ports other than 80/443, plain HTTP (an alarm in
// production, a notice in stage), a query or fragment, an odd path.
func TestURLWarnings(t *testing.T) {
	const alarm, note = "!", "~"
	cases := []struct {
		mode pay.Mode
		url  string
		want []string // message ID suffixes, "!" for an alarm
	}{
		{pay.Sandbox, "http://localhost:8080/payments/ecpay/notify", []string{"local_sandbox~", "port~8080"}},
		{pay.Stage, "http://localhost:8080/payments/ecpay/notify", []string{"local!", "port!8080", "http_stage~"}},
		{pay.Production, "http://localhost:8080/payments/ecpay/notify", []string{"local!", "port!8080", "http_production!"}},
		{pay.Production, "https://shop.example.com/payments/ecpay/notify", nil},
		{pay.Stage, "https://shop.example.com/payments/ecpay/notify", nil},
		{pay.Sandbox, "https://shop.example.com/payments/ecpay/notify", nil},
		{pay.Production, "http://shop.example.com/payments/ecpay/notify", []string{"http_production!"}},
		{pay.Stage, "http://shop.example.com/payments/ecpay/notify", []string{"http_stage~"}},
		{pay.Sandbox, "http://shop.example.com/payments/ecpay/notify", nil},
		{pay.Production, "https://shop.example.com:8443/payments/ecpay/notify", []string{"port!8443"}},
		{pay.Production, "https://shop.example.com:443/payments/ecpay/notify", nil},
		{pay.Production, "https://127.0.0.1/payments/x", []string{"local!"}},
		{pay.Production, "https://[::1]/payments/x", []string{"local!"}},
		{pay.Production, "https://10.1.2.3/payments/x", []string{"local!"}},
		{pay.Production, "https://192.168.0.9/payments/x", []string{"local!"}},
		{pay.Production, "https://169.254.169.254/payments/x", []string{"local!"}},
		{pay.Production, "https://[fe80::1]/payments/x", []string{"local!"}},
		{pay.Production, "https://shop.localhost/payments/x", []string{"local!"}},
		{pay.Production, "https://intranet/payments/x", []string{"local!"}},
		{pay.Production, "https://203.0.113.7/payments/x", nil},
		{pay.Production, "https://shop.example.com/payments/x?a=1", []string{"query!"}},
		{pay.Production, "https://shop.example.com/payments/x#top", []string{"query!"}},
		{pay.Production, "https://shop.example.com//payments/x", []string{"odd_path!"}},
		{pay.Production, "shop.example.com/payments", []string{"malformed!"}},
	}
	for _, c := range cases {
		var got []string
		for _, w := range urlWarnings(c.mode, c.url) {
			s := w.ID[len("admin.settings.warn."):]
			if w.Alarm {
				s += alarm
			} else {
				s += note
			}
			got = append(got, s+w.Arg)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %s: %v, want %v", c.mode, c.url, got, c.want)
		}
	}
}
