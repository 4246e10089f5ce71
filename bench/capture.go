package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/database"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
)

// captured are the statements one notify sends PostgreSQL, as the server
// logged them (log_statement = all on the capturing connections only).
type captured struct {
	First, Repeat []string // a first delivery, and the same notify again
	EventID       int64    // the first delivery's event (its later statements name it)
}

// capture runs twpay in this process on connections that log every
// statement, warms up on order n-1, sends one first delivery and its
// repeat for order n, and
// reads the statements back from the server log (devdb's DEVDB_LOG).
func capture(ctx context.Context, dsn, logPath string, n int64) (captured, error) {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := database.Open(ctx, dsn+sep+"options=-c%20log_statement%3Dall")
	if err != nil {
		return captured{}, err
	}
	defer db.Close()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	srv := httptest.NewServer(r)
	defer srv.Close()
	p, err := plugin.New(plugin.Config{DB: db, Mode: pay.Sandbox, BaseURL: srv.URL, SessionSecret: "bench-secret-bench-secret-bench-secret",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Gateways: []pay.Adapter{ecpayadapter.New(ecpayadapter.Config{
			Merchants: []ecpay.Merchant{ecpay.StageMerchant}, CheckoutURL: srv.URL + "/c", QueryURL: srv.URL + "/q"})}})
	if err != nil {
		return captured{}, err
	}
	p.Mount(r)
	// A warm-up notify for order n-1 first: what a running server no
	// longer does (River's one-off version query and first insert
	// notification) stays out of the capture.
	res, err := http.Post(srv.URL+"/payments/ecpay/notify", "application/x-www-form-urlencoded", strings.NewReader(notifyBody(n-1)))
	if err != nil {
		return captured{}, err
	}
	res.Body.Close()
	var out captured
	for _, dst := range []*[]string{&out.First, &out.Repeat} {
		before, err := fileSize(logPath)
		if err != nil {
			return out, err
		}
		res, err := http.Post(srv.URL+"/payments/ecpay/notify", "application/x-www-form-urlencoded", strings.NewReader(notifyBody(n)))
		if err != nil {
			return out, err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != ecpay.Ack {
			return out, fmt.Errorf("capture notify answered %d %q", res.StatusCode, b)
		}
		raw, err := readFrom(logPath, before)
		if err != nil {
			return out, err
		}
		*dst = statements(raw)
		if out.EventID == 0 {
			if err := db.NewRaw("SELECT id FROM events WHERE merchant_trade_no = ? AND verdict = 'applied'", fmt.Sprintf("TB%d", n)).Scan(ctx, &out.EventID); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// notifyBody is ECPay's genuine paid notification for seeded order n.
func notifyBody(n int64) string {
	f := map[string]string{
		"MerchantID": ecpay.StageMerchant.ID, "MerchantTradeNo": fmt.Sprintf("TB%d", n), "StoreID": "", "RtnCode": "1",
		"RtnMsg": "交易成功", "TradeNo": fmt.Sprintf("GW%d", n), "TradeAmt": fmt.Sprint(seedAmount),
		"PaymentDate": "2026/12/01 12:00:00", "PaymentType": "Credit_CreditCard", "PaymentTypeChargeFee": "30",
		"TradeDate": "2026/12/01 11:59:00", "SimulatePaid": "0", "CustomField1": "", "card4no": "2222", "card6no": "431195",
	}
	f[ecpay.MACField] = ecpay.StageMerchant.Sign(f)
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	return v.Encode()
}

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func readFrom(path string, off int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return "", err
	}
	b, err := io.ReadAll(f)
	return string(b), err
}

// A log entry starts with the default log_line_prefix ("%m [%p] ").
var entryStart = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[.\d]* \w+ \[\d+\] (\w+):  (.*)$`)

// statements reads the SQL a log section holds, with the parameters of
// extended-protocol statements written into the text.
func statements(raw string) []string {
	type entry struct{ level, text string }
	var entries []entry
	for _, line := range strings.Split(raw, "\n") {
		if m := entryStart.FindStringSubmatch(line); m != nil {
			entries = append(entries, entry{m[1], m[2]})
		} else if len(entries) > 0 && line != "" {
			entries[len(entries)-1].text += "\n" + strings.TrimPrefix(line, "\t")
		}
	}
	var out []string
	for i, e := range entries {
		if e.level != "LOG" {
			continue
		}
		var sql string
		switch {
		case strings.HasPrefix(e.text, "statement: "):
			sql = strings.TrimPrefix(e.text, "statement: ")
		case strings.HasPrefix(e.text, "execute "):
			_, sql, _ = strings.Cut(e.text, ": ")
			if i+1 < len(entries) && entries[i+1].level == "DETAIL" && strings.HasPrefix(entries[i+1].text, "parameters: ") {
				sql = bind(sql, strings.TrimPrefix(entries[i+1].text, "parameters: "))
			}
		default:
			continue
		}
		out = append(out, strings.TrimSpace(sql))
	}
	return out
}

// bind writes logged parameters ("$1 = 'a', $2 = NULL") into sql.
func bind(sql, params string) string {
	vals := map[string]string{}
	for rest := params; rest != ""; {
		name, after, ok := strings.Cut(rest, " = ")
		if !ok {
			break
		}
		name = strings.TrimSpace(strings.TrimPrefix(name, ","))
		var val string
		if strings.HasPrefix(after, "NULL") {
			val, rest = "NULL", after[4:]
		} else if strings.HasPrefix(after, "'") {
			i := 1
			for i < len(after) {
				if after[i] == '\'' {
					if i+1 < len(after) && after[i+1] == '\'' {
						i += 2
						continue
					}
					break
				}
				i++
			}
			val, rest = after[:i+1], after[i+1:]
		}
		vals[strings.TrimSpace(name)] = val
		rest = strings.TrimPrefix(strings.TrimSpace(rest), ",")
	}
	return regexp.MustCompile(`\$\d+`).ReplaceAllStringFunc(sql, func(p string) string {
		if v, ok := vals[p]; ok {
			return v
		}
		return p
	})
}
