package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// The vendored axe-core (make axe): for the tests only, never served.
const (
	axeFile        = "testdata/axe.min.js"
	axeVersionFile = "testdata/axe.version"
)

var axeOnce = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(axeFile)
	return string(b), err
})

func axeSource(t *testing.T) string {
	t.Helper()
	js, err := axeOnce()
	if err != nil {
		t.Fatalf("%v (make axe vendors it)", err)
	}
	return js
}

func readAxeVersion(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(axeVersionFile)
	if err != nil {
		t.Fatal(err)
	}
	rec := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not key=value", axeVersionFile, line)
		}
		rec[k] = v
	}
	return rec
}

var axeSemver = regexp.MustCompile(`^4\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

// The vendored file is the one `make axe` recorded: right package,
// version, banner and sha256.
func TestVendoredAxe(t *testing.T) {
	rec := readAxeVersion(t)
	js := axeSource(t)
	sum := sha256.Sum256([]byte(js))
	tests := []struct {
		name string
		ok   bool
		got  string
	}{
		{"package is axe-core", rec["package"] == "axe-core", rec["package"]},
		{"file is axe.min.js", rec["file"] == "axe.min.js", rec["file"]},
		{"version is 4.x.y", axeSemver.MatchString(rec["version"]), rec["version"]},
		{"sha256 matches the record", hex.EncodeToString(sum[:]) == rec["sha256"], hex.EncodeToString(sum[:])},
		{"banner names the version", strings.HasPrefix(js, "/*! axe v"+rec["version"]+"\n"), js[:min(len(js), 20)]},
		{"npm integrity is sha512", strings.HasPrefix(rec["npm_integrity"], "sha512-"), rec["npm_integrity"]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("got %q; re-vendor with make axe", tc.got)
			}
		})
	}
}

// The check can fail: on a page with the faults the shop must not have,
// axe reports each as serious or critical, with its target.
func TestAxeReportsViolations(t *testing.T) {
	browser := newBrowser(t)
	s := newShopperIn(t, browser, newBrowserContext(t, browser), combo{"en", 390}, "", t.TempDir(), new(int))
	page := `<!doctype html><html><head><title>t</title></head><body><main>
<input id="unlabelled" type="email">
<p style="color:#aaa;background:#fff">low contrast</p>
<img id="noalt" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</main></body></html>`
	s.run(chromedp.Navigate("data:text/html;charset=utf-8," + url.PathEscape(page)))
	got := map[string]string{}
	for _, v := range s.axeViolations() {
		got[v.ID] = strings.Join(v.Targets, " ")
	}
	for _, tc := range []struct{ rule, target string }{
		{"html-has-lang", "html"},
		{"label", "#unlabelled"},
		{"color-contrast", "p"},
		{"image-alt", "#noalt"},
	} {
		if !strings.Contains(got[tc.rule], tc.target) {
			t.Errorf("axe: %s on %s not reported; got %v", tc.rule, tc.target, got)
		}
	}
}
