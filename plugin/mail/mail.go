// Package mail sends twpay's confirmation mail: a Sender interface, an
// SMTP sender on go-mail (a maintained mail library: no hand-written
// SMTP), and a sender that only logs (the demo's, and the default when no
// SMTP server is configured). The mail itself is composed from the
// locales (Confirmation), in the order's language.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/web"
)

// Message is one plain-text mail.
type Message struct {
	To, Subject, Body string
}

// Sender delivers a Message. An error retries the mail job (River's
// back-off); a permanent refusal should still return an error, so the job
// ends as a dead letter a human can read.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// LogSender writes the mail's recipient and subject to the log instead of
// sending it (the body is left out: it is for the shopper).
type LogSender struct{ Log *slog.Logger }

func (s LogSender) Send(_ context.Context, m Message) error {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	log.Info("confirmation mail (not sent: no SMTP server configured)", "to", m.To, "subject", m.Subject)
	return nil
}

// SMTP sends through an SMTP server with go-mail.
type SMTP struct {
	Host     string
	Port     int // default 587
	Username string
	Password gateway.Secret
	From     string // the sender address, e.g. "Shop <shop@example.tw>"
	// TLS: "mandatory" (STARTTLS required, the default), "opportunistic"
	// (STARTTLS when offered) or "none" (a local relay only).
	TLS     string
	Timeout time.Duration // default 15 s
}

// Validate checks the settings, naming the variables.
func (s SMTP) Validate() error {
	if s.Host == "" {
		return errors.New("twpay: TWPAY_SMTP_HOST is required for SMTP")
	}
	if a, err := mail.ParseAddress(s.From); err != nil || a.Address == "" {
		return fmt.Errorf("twpay: TWPAY_SMTP_FROM=%q is not a mail address", s.From)
	}
	if _, err := s.policy(); err != nil {
		return err
	}
	if (s.Username == "") != (s.Password == "") {
		return errors.New("twpay: TWPAY_SMTP_USERNAME and TWPAY_SMTP_PASSWORD go together")
	}
	return nil
}

func (s SMTP) policy() (gomail.TLSPolicy, error) {
	switch s.TLS {
	case "", "mandatory":
		return gomail.TLSMandatory, nil
	case "opportunistic":
		return gomail.TLSOpportunistic, nil
	case "none":
		return gomail.NoTLS, nil
	}
	return 0, fmt.Errorf("twpay: TWPAY_SMTP_TLS=%q: want mandatory, opportunistic or none", s.TLS)
}

// Send delivers m over one SMTP connection.
func (s SMTP) Send(ctx context.Context, m Message) error {
	policy, err := s.policy()
	if err != nil {
		return err
	}
	port, timeout := s.Port, s.Timeout
	if port == 0 {
		port = 587
	}
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTLSPolicy(policy), gomail.WithTimeout(timeout)}
	if s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.Username), gomail.WithPassword(s.Password.Reveal()))
	}
	client, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return nil
}

// EnvVars documents every variable FromEnv reads.
var EnvVars = []struct{ Name, Meaning string }{
	{"TWPAY_SMTP_HOST", "SMTP server for confirmation mail; unset: the mail is only logged"},
	{"TWPAY_SMTP_PORT", "SMTP port (default 587)"},
	{"TWPAY_SMTP_USERNAME", "SMTP user (with TWPAY_SMTP_PASSWORD); unset: no authentication"},
	{"TWPAY_SMTP_PASSWORD", "SMTP password"},
	{"TWPAY_SMTP_FROM", "sender address of confirmation mail, required with TWPAY_SMTP_HOST"},
	{"TWPAY_SMTP_TLS", "mandatory (default: STARTTLS required), opportunistic or none (a local relay only)"},
}

// FromEnv reads the SMTP settings; nil when TWPAY_SMTP_HOST is unset.
func FromEnv(getenv func(string) string) (*SMTP, error) {
	s := &SMTP{Host: getenv("TWPAY_SMTP_HOST"), Username: getenv("TWPAY_SMTP_USERNAME"),
		Password: gateway.Secret(getenv("TWPAY_SMTP_PASSWORD")), From: getenv("TWPAY_SMTP_FROM"), TLS: getenv("TWPAY_SMTP_TLS")}
	if s.Host == "" {
		for _, v := range EnvVars[1:] {
			if getenv(v.Name) != "" {
				return nil, fmt.Errorf("twpay: %s is set but TWPAY_SMTP_HOST is not", v.Name)
			}
		}
		return nil, nil
	}
	if p := getenv("TWPAY_SMTP_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("twpay: TWPAY_SMTP_PORT=%q is not a port", p)
		}
		s.Port = n
	}
	return s, s.Validate()
}

// Confirmation composes the payment confirmation for o in its language
// (message IDs mail.confirmation.*). orderURL is where the shopper reads
// the order (with its access token); "" leaves the link out.
func Confirmation(l *web.Localizer, o *checkout.Order, orderURL string) Message {
	colon := l.T("punct.colon") // full-width in Chinese
	body := []string{
		l.T("mail.confirmation.greeting"),
		"",
		l.T("mail.confirmation.body"),
		"",
		l.T("result.order_no") + colon + o.OrderNo,
		l.T("result.item") + colon + o.Title(l.Lang),
		l.T("result.amount") + colon + l.T("plan.price", "Price", web.TWD(o.Amount)),
	}
	if o.PaidAt != nil {
		// The same words as the shop's pages: Taiwan time, named.
		body = append(body, l.T("result.paid_at")+colon+l.DateTime(*o.PaidAt))
	}
	if orderURL != "" {
		body = append(body, "", l.T("mail.confirmation.link"), orderURL)
	}
	return Message{To: o.BuyerEmail, Subject: l.T("mail.confirmation.subject", "OrderNo", o.OrderNo),
		Body: strings.Join(body, "\n") + "\n"}
}
