// Package chrome starts the real headless Chromium the browser tests drive
// (Debian's /usr/bin/chromium, which make test and make e2e install).
package chrome

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path is Debian's Chromium.
const Path = "/usr/bin/chromium"

// Start starts a headless Chromium with its own profile folder, closed and
// removed when the test ends; extra adds flags (e.g. hide-scrollbars).
// Each chromedp.NewContext of the returned context is a tab in it.
func Start(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		t.Fatalf("%s not found: run `make test` or `make e2e` (they install Debian's chromium) or apt-get install chromium", Path)
	}
	profile, err := os.MkdirTemp("", "twpay-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(profile),
	}, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx() // closes the browser and waits for it to exit
		cancelAlloc()
		// Removed best-effort: Chromium's helper processes may still be
		// writing to it for a moment after it exits.
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}
