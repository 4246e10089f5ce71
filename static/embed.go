// Package static holds the site's static assets, embedded into the binary.
//
// FS contains:
//
//   - htmx.min.js: htmx vendored byte-for-byte from the npm package htmx.org
//     (dist/htmx.min.js). Re-vendor with `make -f Makefile.htmx htmx
//     HTMX_VERSION=x.y.z`; never edit it by hand.
//   - htmx.version: key=value lines recording the vendored package, version,
//     file, sha256 of htmx.min.js and npm's dist.integrity of the tarball.
//     The tests check htmx.min.js against it.
//   - twpay.css: the stylesheet for the shop and the back office.
//   - twpay.js: small progressive enhancements (copy buttons); every page
//     works without it.
//   - admin.js: the back office's confirmation dialog; every page works
//     without it.
//   - handoff.js: submits the gateway hand-off form on its first visit (a
//     file, not an inline script, for the Content-Security-Policy).
package static

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strings"
)

// FS holds the embedded static assets: htmx.min.js, htmx.version, twpay.css, twpay.js, admin.js and handoff.js.
// Serve it with, e.g., http.FileServerFS(static.FS).
//
//go:embed htmx.min.js htmx.version twpay.css twpay.js admin.js handoff.js
var FS embed.FS

// versionFile is the name of the htmx version record inside FS.
const versionFile = "htmx.version"

// HTMXVersion returns the version of the vendored htmx (e.g. "2.0.11") as
// recorded in htmx.version.
func HTMXVersion() (string, error) {
	rec, err := readVersionFile()
	if err != nil {
		return "", err
	}
	v := rec["version"]
	if v == "" {
		return "", fmt.Errorf("static: %s: no version", versionFile)
	}
	return v, nil
}

// readVersionFile parses htmx.version into its key=value pairs. Blank lines
// and lines starting with '#' are ignored.
func readVersionFile() (map[string]string, error) {
	b, err := FS.ReadFile(versionFile)
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	return parseVersionFile(b)
}

func parseVersionFile(b []byte) (map[string]string, error) {
	rec := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("static: %s:%d: want key=value, got %q", versionFile, n, line)
		}
		if _, dup := rec[k]; dup {
			return nil, fmt.Errorf("static: %s:%d: duplicate key %q", versionFile, n, k)
		}
		rec[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("static: %s: %w", versionFile, err)
	}
	if len(rec) == 0 {
		return nil, errors.New("static: " + versionFile + ": empty")
	}
	return rec, nil
}
