package mail

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twpay/twpay/locales"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/web"
)

// fakeSMTP is a minimal SMTP server on loopback (no TLS, no AUTH) that
// records what it was sent: enough to see go-mail deliver our message.
type fakeSMTP struct {
	addr string
	mu   sync.Mutex
	rcpt []string
	data []string
}

func startSMTP(t *testing.T) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &fakeSMTP{addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *fakeSMTP) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	say := func(line string) { fmt.Fprintf(conn, "%s\r\n", line) }
	say("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-fake")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			s.mu.Lock()
			s.rcpt = append(s.rcpt, strings.TrimSpace(line[8:]))
			s.mu.Unlock()
			say("250 OK")
		case cmd == "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.data = append(s.data, b.String())
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 OK")
		}
	}
}

func order() *checkout.Order {
	paid := time.Date(2026, 12, 2, 6, 5, 0, 0, time.UTC) // 14:05 in Taiwan
	return &checkout.Order{OrderNo: "TW261202ABCDEF", Amount: 3000, Description: "烏龍茶 150g", BuyerEmail: "lin@example.tw", Lang: "zh-TW", PaidAt: &paid}
}

func TestSMTPSendsWithGoMail(t *testing.T) {
	srv := startSMTP(t)
	host, port, _ := net.SplitHostPort(srv.addr)
	var p int
	fmt.Sscan(port, &p)
	s := SMTP{Host: host, Port: p, From: "Shop <shop@example.tw>", TLS: "none", Timeout: 5 * time.Second}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	bundle, err := locales.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	m := Confirmation(web.NewLocalizer(bundle, "zh-TW"), order(), "https://shop.example/shop/orders/TW261202ABCDEF?t=x")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.rcpt) != 1 || !strings.Contains(srv.rcpt[0], "lin@example.tw") || len(srv.data) != 1 {
		t.Fatalf("rcpt %v, %d messages", srv.rcpt, len(srv.data))
	}
	if d := srv.data[0]; !strings.Contains(d, "Subject:") || !strings.Contains(d, "From: \"Shop\" <shop@example.tw>") {
		t.Fatalf("message:\n%s", d)
	}
}

func TestConfirmationInBothLanguages(t *testing.T) {
	bundle, err := locales.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	zh := Confirmation(web.NewLocalizer(bundle, "zh-TW"), order(), "https://x/o")
	en := Confirmation(web.NewLocalizer(bundle, "en"), order(), "")
	if zh.To != "lin@example.tw" || !strings.Contains(zh.Subject, "付款成功") || !strings.Contains(zh.Body, "TW261202ABCDEF") ||
		!strings.Contains(zh.Body, "NT$3,000") || !strings.Contains(zh.Body, "https://x/o") {
		t.Fatalf("zh-TW: %+v", zh)
	}
	if !strings.Contains(en.Subject, "Payment received") || !strings.Contains(en.Body, "烏龍茶") || strings.Contains(en.Body, "https://") {
		t.Fatalf("en: %+v", en)
	}
	// Full-width colons and the paid time in Taiwan time, as on the pages.
	if !strings.Contains(zh.Body, "訂單編號：TW261202ABCDEF") || !strings.Contains(zh.Body, "2026/12/02 14:05（台灣時間）") {
		t.Fatalf("zh-TW body:\n%s", zh.Body)
	}
	if !strings.Contains(en.Body, "Order number: TW261202ABCDEF") || !strings.Contains(en.Body, "2 Dec 2026, 14:05 Taiwan time") {
		t.Fatalf("en body:\n%s", en.Body)
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if s, err := FromEnv(env(nil)); s != nil || err != nil {
		t.Fatalf("unset: %v %v", s, err)
	}
	if _, err := FromEnv(env(map[string]string{"TWPAY_SMTP_FROM": "a@b.tw"})); err == nil {
		t.Fatal("FROM without HOST accepted")
	}
	if _, err := FromEnv(env(map[string]string{"TWPAY_SMTP_HOST": "smtp.example.tw"})); err == nil {
		t.Fatal("HOST without FROM accepted")
	}
	if _, err := FromEnv(env(map[string]string{"TWPAY_SMTP_HOST": "h", "TWPAY_SMTP_FROM": "a@b.tw", "TWPAY_SMTP_TLS": "maybe"})); err == nil {
		t.Fatal("bad TLS accepted")
	}
	s, err := FromEnv(env(map[string]string{"TWPAY_SMTP_HOST": "h", "TWPAY_SMTP_FROM": "a@b.tw", "TWPAY_SMTP_PORT": "2525",
		"TWPAY_SMTP_USERNAME": "u", "TWPAY_SMTP_PASSWORD": "p4ssw0rd-secret"}))
	if err != nil || s.Port != 2525 {
		t.Fatalf("%+v %v", s, err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", s, *s), "p4ssw0rd-secret") {
		t.Fatal("password printed")
	}
}

func TestLogSender(t *testing.T) {
	var b strings.Builder
	LogSender{Log: slog.New(slog.NewTextHandler(&b, nil))}.Send(context.Background(), Message{To: "a@b.tw", Subject: "s", Body: "secret body"})
	if !strings.Contains(b.String(), "a@b.tw") || strings.Contains(b.String(), "secret body") {
		t.Fatal(b.String())
	}
}
