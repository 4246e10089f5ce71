package e2e

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/twpay/twpay/tests/chrome"
)

// newBrowser starts one headless Chromium for the whole run; each viewport
// and language gets its own browser context in it (own cookies, own tabs).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return chrome.Start(t, chromedp.Flag("hide-scrollbars", true))
}

// newBrowserContext makes a browser context in the browser (own cookies
// and storage: one shopper's browser) and disposes of it at the end.
func newBrowserContext(t *testing.T, browser context.Context) cdp.BrowserContextID {
	t.Helper()
	id, err := target.CreateBrowserContext().Do(browserExecutor(browser))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = target.DisposeBrowserContext(id).Do(browserExecutor(browser)) })
	return id
}

func browserExecutor(browser context.Context) context.Context {
	return cdp.WithExecutor(browser, chromedp.FromContext(browser).Browser)
}

// openTab opens a tab in a browser context. Chromium's headless mode has
// no window in a new context, and chromedp's own WithNewBrowserContext asks
// for a tab in no window ("no browser is open"), so the tab gets a window.
func openTab(t *testing.T, browser context.Context, id cdp.BrowserContextID) context.Context {
	t.Helper()
	tid, err := target.CreateTarget("about:blank").WithBrowserContextID(id).WithNewWindow(true).Do(browserExecutor(browser))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithTargetID(tid))
	t.Cleanup(func() {
		cancel()
		_ = target.CloseTarget(tid).Do(browserExecutor(browser))
	})
	return ctx
}

// combo is one viewport and language.
type combo struct {
	Lang  string // zh-TW or en
	Width int    // CSS pixels
}

func (c combo) String() string { return fmt.Sprintf("%s-%d", c.Lang, c.Width) }

// other is the language a switch goes to.
func (c combo) other() string {
	if c.Lang == "en" {
		return "zh-TW"
	}
	return "en"
}

// shopper is one journey in one combo: its tab, the screenshot folder and
// the step counter.
type shopper struct {
	t       *testing.T
	ctx     context.Context
	browser context.Context      // the Chromium, for more tabs
	bc      cdp.BrowserContextID // this shopper's browser context
	c       combo
	base    string
	dir     string
	step    *int // shared by the tabs of a journey, so the files stay in order
	axeJS   string
}

// newShopper opens a tab in the combo's browser context (bctx) with the
// combo's viewport; screenshots go to root/<journey>/<combo>/.
func newShopper(t *testing.T, browser context.Context, bc cdp.BrowserContextID, c combo, base, root, journey string) *shopper {
	t.Helper()
	dir := filepath.Join(root, journey, c.String())
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return newShopperIn(t, browser, bc, c, base, dir, new(int))
}

// newShopperIn opens a tab in browser context bc.
func newShopperIn(t *testing.T, browser context.Context, bc cdp.BrowserContextID, c combo, base, dir string, step *int) *shopper {
	t.Helper()
	s := &shopper{t: t, ctx: openTab(t, browser, bc), browser: browser, bc: bc, c: c, base: base, dir: dir, step: step, axeJS: axeSource(t)}
	phone := c.Width < 600
	s.run(emulation.SetDeviceMetricsOverride(int64(c.Width), 900, 1, phone).WithScreenOrientation(
		&emulation.ScreenOrientation{Type: emulation.OrientationTypePortraitPrimary, Angle: 0}))
	if phone {
		s.run(emulation.SetTouchEmulationEnabled(true))
	}
	return s
}

// stepTimeout bounds one run of actions (a wait for a panel included).
const stepTimeout = 30 * time.Second

// run performs actions; on failure it keeps the page's HTML and a
// screenshot beside the steps and stops the journey.
func (s *shopper) run(actions ...chromedp.Action) {
	s.t.Helper()
	// The timeout wraps the actions, not the tab: the tab must outlive it
	// to keep the page on failure.
	if err := chromedp.Run(s.ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, stepTimeout)
		defer cancel()
		return chromedp.Tasks(actions).Do(ctx)
	})); err != nil {
		s.fail("%v", err)
	}
}

func (s *shopper) fail(format string, args ...any) {
	s.t.Helper()
	var html, location string
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	_ = chromedp.Run(ctx, chromedp.Location(&location), chromedp.OuterHTML("html", &html, chromedp.ByQuery))
	name := fmt.Sprintf("%02d-FAILED", *s.step+1)
	_ = os.WriteFile(filepath.Join(s.dir, name+".html"), []byte(html), 0o644)
	var png []byte
	if chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)) == nil {
		_ = os.WriteFile(filepath.Join(s.dir, name+".png"), png, 0o644)
	}
	s.t.Fatalf("%s at %s: %s\n(page HTML kept in %s.html)", s.c, location, fmt.Sprintf(format, args...), filepath.Join(s.dir, name))
}

// shot ends a step: a screenshot NN-name.png, and on the shop's own pages
// the axe check and a check that the page is in the expected language.
func (s *shopper) shot(name string) {
	s.t.Helper()
	*s.step++
	var png []byte
	s.run(chromedp.FullScreenshot(&png, 100)) // 100: PNG
	if err := os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", *s.step, name)), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	var location string
	s.run(chromedp.Location(&location))
	if strings.HasPrefix(location, s.base+"/shop") {
		s.sideways(name)
		s.axe(name)
	}
}

// axe runs the vendored axe-core on the page as it is now and fails on
// any serious or critical violation.
func (s *shopper) axe(step string) {
	s.t.Helper()
	found := s.axeViolations()
	if len(found) == 0 {
		return
	}
	var b strings.Builder
	for _, v := range found {
		fmt.Fprintf(&b, "\n  %s (%s): %s\n    %s\n    targets: %s", v.ID, v.Impact, v.Help, v.HelpURL, strings.Join(v.Targets, " | "))
	}
	s.fail("axe: %d serious or critical violation(s) at step %q:%s", len(found), step, b.String())
}

func (s *shopper) axeViolations() []axeViolation {
	s.t.Helper()
	var loaded bool
	s.run(chromedp.Evaluate(`typeof window.axe === "object"`, &loaded))
	if !loaded {
		s.run(chromedp.Evaluate(s.axeJS, nil))
	}
	var found []axeViolation
	s.run(chromedp.Evaluate(axeRun, &found, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
	return found
}

type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Targets []string `json:"targets"`
}

// axeRun checks the WCAG 2.x A and AA rules and best practices; only
// serious and critical results fail the step.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
	.filter(v => v.impact === "serious" || v.impact === "critical")
	.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
		targets: v.nodes.map(n => n.target.join(" "))})))`

// navigate opens a shop path (with ?lang= for the combo when asked).
func (s *shopper) navigate(path string) {
	s.t.Helper()
	s.run(chromedp.Navigate(s.base + path))
}

// text reads an element's text.
func (s *shopper) text(sel string) string {
	s.t.Helper()
	var v string
	s.run(chromedp.Text(sel, &v, chromedp.ByQuery))
	return strings.TrimSpace(v)
}

func (s *shopper) attr(sel, name string) string {
	s.t.Helper()
	var v string
	var ok bool
	s.run(chromedp.AttributeValue(sel, name, &v, &ok, chromedp.ByQuery))
	return v
}

func (s *shopper) location() string {
	s.t.Helper()
	var v string
	s.run(chromedp.Location(&v))
	return v
}

var han = regexp.MustCompile(`\p{Han}`)

// inLanguage checks the page says it is in lang and its main heading is
// written in it (Chinese characters for zh-TW, none for en), so a test
// does not depend on the exact wording.
func (s *shopper) inLanguage(lang, sel string) {
	s.t.Helper()
	if got := s.attr("html", "lang"); got != lang {
		s.fail("<html lang=%q>, want %q", got, lang)
	}
	h := s.text(sel)
	if h == "" || han.MatchString(h) != (lang == "zh-TW") {
		s.fail("%s %q is not in %s", sel, h, lang)
	}
}

// sideways fails the step when the page is wider than the viewport: no
// shopper page may scroll sideways, on a phone least of all.
func (s *shopper) sideways(step string) {
	s.t.Helper()
	// Against the emulated width: on a phone the layout viewport
	// (innerWidth) grows with content that is too wide.
	var page int
	s.run(chromedp.Evaluate(`document.documentElement.scrollWidth`, &page))
	if page > s.c.Width+1 {
		s.t.Errorf("sideways scroll: %s/%02d-%s is %d px wide at %d px", filepath.Base(s.dir), *s.step, step, page, s.c.Width)
	}
}
