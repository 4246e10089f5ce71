package admin

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/pay"
)

// settingsView is the settings check: the mode, the base URL and, per
// enabled gateway, its merchants (IDs only), the URLs a payment hands it
// with their warnings, its endpoints and (after a self-test) what our own
// callback URLs answered.
type settingsView struct {
	Mode     pay.Mode
	BaseURL  string
	Gateways []gatewaySettings
	Operator bool   // may run the self-test
	Action   string // the self-test's URL
	// Confirm: the self-test was asked for without its confirmation;
	// Chosen is what it would test ("" for every gateway).
	Confirm bool
	Chosen  string
	Ran     bool // a self-test ran: Gateways carry its probes
	Notice  string
}

type gatewaySettings struct {
	Name      string
	Merchants []string
	URLs      []urlRow
	Endpoints []pay.Link
	Testable  bool // the adapter signs self-test callbacks
	Untested  string
}

// urlRow is one URL of ours a payment hands the gateway.
type urlRow struct {
	pay.URLSetting
	URL      string // absolute, exactly as put in the form or API call ("" when not sent)
	Warnings []urlWarning
	Probes   []probe // the self-test's requests to it
}

// urlWarning is one problem with a URL: Alarm means the gateway's post
// will (or may) be lost; otherwise a notice.
type urlWarning struct {
	ID    string // message ID
	Alarm bool
	Arg   string // the port, the redirect's target
}

// probe is one self-test request and its answer.
type probe struct {
	Merchant string // the merchant whose key signed it ("" for a plain check)
	Signed   bool   // a signed test callback (POST); otherwise a GET check
	Status   int
	Body     string // the answer's first bytes, quoted where not printable
	Location string // a redirect's target
	Ack      bool   // the acknowledgement the gateway expects
	OK       bool   // as it should be: acknowledged, or (a GET check) twpay's 405
	WantAck  string
	Err      string // the transport's error (no answer)
	Millis   int64
}

// selfTestTimeout bounds each self-test request.
const selfTestTimeout = 10 * time.Second

// probeBody is how much of an answer the page shows.
const probeBody = 200

func (h *Handler) settings(c *gin.Context) {
	v := h.settingsOf(c)
	h.Render.Render(c, http.StatusOK, "admin_settings", h.page(c, "", v))
}

func (h *Handler) settingsOf(c *gin.Context) *settingsView {
	v := &settingsView{Mode: h.Mode, BaseURL: h.BaseURL, Action: h.URL("/settings/selftest")}
	if id, ok := IdentityOf(c); ok {
		v.Operator = id.Role.Can(RoleOperator)
	}
	prefix := h.callbackURL()
	for _, ad := range h.Registry.Adapters() {
		g := gatewaySettings{Name: ad.Name()}
		if d, ok := ad.(pay.Describer); ok {
			s := d.Settings()
			g.Merchants, g.Endpoints, g.Untested = s.Merchants, s.Endpoints, s.Untested
			for _, u := range s.URLs {
				row := urlRow{URLSetting: u}
				if u.Path != "" {
					// As storefront builds HandOff.CallbackURL and the adapter appends its path.
					row.URL = prefix + "/" + ad.Name() + "/" + u.Path
					row.Warnings = urlWarnings(h.Mode, row.URL)
				}
				g.URLs = append(g.URLs, row)
			}
		}
		_, g.Testable = ad.(pay.SelfTester)
		v.Gateways = append(v.Gateways, g)
	}
	return v
}

// callbackURL is the absolute callback prefix handed to gateways.
func (h *Handler) callbackURL() string {
	if h.CallbackURL != nil {
		return h.CallbackURL()
	}
	return h.BaseURL + "/payments"
}

// urlWarnings checks one absolute callback URL against what a gateway's
// servers can reach and will post to. In sandbox mode the in-process
// sandboxes reach anything this process can, so reachability is a note.
func urlWarnings(mode pay.Mode, raw string) []urlWarning {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return []urlWarning{{ID: "admin.settings.warn.malformed", Alarm: true}}
	}
	var out []urlWarning
	sandbox := mode == pay.Sandbox
	if unreachable(u.Hostname()) {
		if sandbox {
			out = append(out, urlWarning{ID: "admin.settings.warn.local_sandbox"})
		} else {
			out = append(out, urlWarning{ID: "admin.settings.warn.local", Alarm: true})
		}
	}
	if p := u.Port(); p != "" && p != "80" && p != "443" {
		// ECPay posts only to ports 80 and 443 (ecpay.md); others are unconfirmed: warn for all.
		out = append(out, urlWarning{ID: "admin.settings.warn.port", Alarm: !sandbox, Arg: p})
	}
	if u.Scheme == "http" {
		switch mode {
		case pay.Production:
			out = append(out, urlWarning{ID: "admin.settings.warn.http_production", Alarm: true})
		case pay.Stage:
			out = append(out, urlWarning{ID: "admin.settings.warn.http_stage"})
		}
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		out = append(out, urlWarning{ID: "admin.settings.warn.query", Alarm: true})
	}
	if strings.Contains(u.EscapedPath(), "//") || u.User != nil {
		out = append(out, urlWarning{ID: "admin.settings.warn.odd_path", Alarm: true})
	}
	return out
}

// unreachable: a host no gateway on the internet can post to (loopback,
// private, link-local, unspecified, *.localhost, a name without a dot).
func unreachable(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()
	}
	return !strings.Contains(host, ".")
}

// selfTest posts, for each chosen gateway and each of its merchants, a
// callback signed with that merchant's real key to every server URL, and
// sends a GET check to every browser URL, over real HTTP to the public
// URLs (so proxies, TLS and redirects are on the way), following no
// redirect. The callbacks carry a reserved trade number and claim no
// money: the callback route verifies them like any other, records one
// self_test event each and acknowledges them (checkout.SelfTest).
func (h *Handler) selfTest(c *gin.Context) {
	v := h.settingsOf(c)
	v.Chosen = strings.TrimSpace(c.PostForm("gateway"))
	if _, ok := h.Registry.Adapter(v.Chosen); v.Chosen != "" && !ok {
		v.Notice = "admin.settings.unknown_gateway"
		h.Render.Render(c, http.StatusBadRequest, "admin_settings", h.page(c, "", v))
		return
	}
	if c.PostForm("confirm") != "yes" {
		v.Confirm = true
		h.Render.Render(c, http.StatusOK, "admin_settings", h.page(c, "", v))
		return
	}
	audit, err := h.BeginAudit(c, "settings.selftest", "", v.Chosen)
	if err != nil {
		h.failInternal(c, "audit self-test", "err", err)
		return
	}
	ctx := c.Request.Context()
	var wg sync.WaitGroup
	for gi := range v.Gateways {
		g := &v.Gateways[gi]
		if v.Chosen != "" && g.Name != v.Chosen {
			continue
		}
		ad, _ := h.Registry.Adapter(g.Name)
		tester, _ := ad.(pay.SelfTester)
		for ui := range g.URLs {
			row := &g.URLs[ui]
			if row.URL == "" {
				continue
			}
			if !row.Server || tester == nil {
				row.Probes = make([]probe, 1)
				wg.Add(1)
				go func() { defer wg.Done(); row.Probes[0] = check(ctx, row.URL) }()
				continue
			}
			ack := ackOf(ad, row.Path)
			row.Probes = make([]probe, len(g.Merchants))
			for mi, merchant := range g.Merchants {
				post, err := tester.SelfTest(row.Path, merchant, selfTestTrade())
				if err != nil {
					row.Probes[mi] = probe{Merchant: merchant, Signed: true, Err: err.Error()}
					continue
				}
				wg.Add(1)
				go func() { defer wg.Done(); row.Probes[mi] = send(ctx, row.URL, merchant, post, ack) }()
			}
		}
	}
	wg.Wait()
	v.Ran = true
	result, summary := AuditOK, []string{}
	for gi := range v.Gateways {
		g := &v.Gateways[gi]
		for ui := range g.URLs {
			row := &g.URLs[ui]
			for _, p := range row.Probes {
				w := urlWarning{ID: "admin.settings.warn.redirect", Alarm: true, Arg: p.Location}
				if p.Location != "" && !slices.Contains(row.Warnings, w) {
					row.Warnings = append(row.Warnings, w)
				}
				if !p.OK {
					result = AuditFailed
				}
				summary = append(summary, p.summary(g.Name, row.Path))
			}
		}
	}
	_ = audit.Finish(ctx, result, strings.Join(summary, "; "))
	h.Render.Render(c, http.StatusOK, "admin_settings", h.page(c, "", v))
}

func (p probe) summary(gw, path string) string {
	what := gw + "/" + path
	if p.Merchant != "" {
		what += " (" + p.Merchant + ")"
	}
	switch {
	case p.Err != "":
		return what + ": " + p.Err
	case p.Location != "":
		return fmt.Sprintf("%s: %d redirect to %s", what, p.Status, p.Location)
	case p.Signed:
		return fmt.Sprintf("%s: %d ack=%v %d ms", what, p.Status, p.Ack, p.Millis)
	}
	return fmt.Sprintf("%s: GET %d %d ms", what, p.Status, p.Millis)
}

// ackOf is the reply the gateway expects from the callback at path.
func ackOf(ad pay.Adapter, path string) pay.Reply {
	for _, cb := range ad.Callbacks() {
		if cb.Path == path {
			return cb.Ack.OK
		}
	}
	return pay.Reply{}
}

// selfTestTrade is a fresh self-test trade number: the reserved prefix
// and 11 random letters and digits (20 in all, ECPay's maximum).
func selfTestTrade() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return checkout.SelfTestPrefix + string(b)
}

// probeClient follows no redirect: a 3xx is what the gateway's post
// would get, and it would not follow it either.
var probeClient = func() *http.Client {
	c := gateway.Client(selfTestTimeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}()

func send(ctx context.Context, target, merchant string, post pay.SelfTestPost, ack pay.Reply) probe {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(string(post.Body)))
	if err != nil {
		return probe{Merchant: merchant, Signed: true, Err: err.Error()}
	}
	req.Header.Set("Content-Type", post.ContentType)
	p := do(req)
	p.Merchant, p.Signed, p.WantAck = merchant, true, ack.Body
	p.Ack = p.Err == "" && p.Status == ack.Status && p.rawBody == ack.Body
	p.OK = p.Ack
	return p.probe
}

// check asks a browser URL with GET: twpay's route answers 405 (POST
// only). A redirect there loses the shopper's post too; a 404 means the
// route is not mounted at that URL.
func check(ctx context.Context, target string) probe {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return probe{Err: err.Error()}
	}
	p := do(req).probe
	p.OK = p.Status == http.StatusMethodNotAllowed
	return p
}

type answered struct {
	probe
	rawBody string
}

func do(req *http.Request) answered {
	req.Header.Set("User-Agent", "twpay-selftest")
	start := time.Now()
	res, err := probeClient.Do(req)
	if err != nil {
		return answered{probe: probe{Err: err.Error(), Millis: time.Since(start).Milliseconds()}}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, probeBody+1))
	p := answered{probe: probe{Status: res.StatusCode, Millis: time.Since(start).Milliseconds()}, rawBody: string(b)}
	p.Body = printable(b)
	if res.StatusCode >= 300 && res.StatusCode < 400 {
		p.Location = res.Header.Get("Location")
		if p.Location == "" {
			p.Location = strconv.Itoa(res.StatusCode)
		}
	}
	return p
}

// printable is up to probeBody bytes of b, quoted (Go syntax) when it is
// not plain printable text; the template escapes it for HTML.
func printable(b []byte) string {
	cut := len(b) > probeBody
	if cut {
		b = b[:probeBody]
	}
	s := string(b)
	plain := utf8.ValidString(s)
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			plain = false
		}
	}
	if !plain {
		s = strconv.Quote(s)
	}
	if cut {
		s += "…"
	}
	return s
}
