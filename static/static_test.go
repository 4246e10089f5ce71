package static

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// semver20x matches htmx 2.0.x release versions (no pre-releases).
var semver20x = regexp.MustCompile(`^2\.0\.(0|[1-9][0-9]*)$`)

func TestVendoredAssets(t *testing.T) {
	rec, err := readVersionFile()
	if err != nil {
		t.Fatalf("reading %s: %v", versionFile, err)
	}
	js, err := FS.ReadFile("htmx.min.js")
	if err != nil {
		t.Fatalf("reading htmx.min.js: %v", err)
	}
	css, err := FS.ReadFile("twpay.css")
	if err != nil {
		t.Fatalf("reading twpay.css: %v", err)
	}

	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"record names htmx.org dist/htmx.min.js", func(t *testing.T) {
			if got := rec["package"]; got != "htmx.org" {
				t.Errorf("package = %q, want htmx.org", got)
			}
			if got := rec["file"]; got != "dist/htmx.min.js" {
				t.Errorf("file = %q, want dist/htmx.min.js", got)
			}
		}},
		{"version is 2.0.x", func(t *testing.T) {
			v, err := HTMXVersion()
			if err != nil {
				t.Fatal(err)
			}
			if !semver20x.MatchString(v) {
				t.Errorf("HTMXVersion() = %q, want 2.0.x", v)
			}
		}},
		{"htmx.min.js sha256 matches record", func(t *testing.T) {
			sum := sha256.Sum256(js)
			got := hex.EncodeToString(sum[:])
			if want := rec["sha256"]; got != want {
				t.Errorf("sha256(htmx.min.js) = %s, recorded %q; re-vendor with make -f Makefile.htmx htmx", got, want)
			}
		}},
		{"npm integrity is well-formed sha512", func(t *testing.T) {
			i := rec["npm_integrity"]
			b64, ok := strings.CutPrefix(i, "sha512-")
			if !ok {
				t.Fatalf("npm_integrity = %q, want sha512-<base64>", i)
			}
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatalf("npm_integrity: %v", err)
			}
			if len(raw) != sha512.Size {
				t.Errorf("npm_integrity digest is %d bytes, want %d", len(raw), sha512.Size)
			}
		}},
		{"htmx.min.js is the recorded version", func(t *testing.T) {
			// The 2.0.x builds carry no banner comment; the minified source
			// starts with the htmx IIFE and embeds version:"2.0.11".
			if !bytes.HasPrefix(js, []byte("var htmx=function(){")) {
				t.Errorf("htmx.min.js starts with %q, want the htmx IIFE", js[:min(len(js), 40)])
			}
			want := `version:"` + rec["version"] + `"`
			if !bytes.Contains(js, []byte(want)) {
				t.Errorf("htmx.min.js does not contain %s", want)
			}
		}},
		{"twpay.css is non-empty", func(t *testing.T) {
			if len(bytes.TrimSpace(css)) == 0 {
				t.Error("twpay.css is empty")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

func TestFSContents(t *testing.T) {
	want := map[string]bool{"htmx.min.js": true, "htmx.version": true, "twpay.css": true, "twpay.js": true, "admin.js": true, "handoff.js": true}
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("unexpected embedded file %q", e.Name())
		}
		delete(want, e.Name())
	}
	for name := range want {
		t.Errorf("missing embedded file %q", name)
	}
}

func TestParseVersionFile(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"simple", "version=2.0.11\n", map[string]string{"version": "2.0.11"}, false},
		{"comments and blanks", "# x\n\n package = htmx.org \nversion=2.0.11", map[string]string{"package": "htmx.org", "version": "2.0.11"}, false},
		{"base64 padding kept", "npm_integrity=sha512-ab==\n", map[string]string{"npm_integrity": "sha512-ab=="}, false},
		{"missing equals", "version 2.0.11\n", nil, true},
		{"empty key", "=2.0.11\n", nil, true},
		{"duplicate key", "version=1\nversion=2\n", nil, true},
		{"empty", "# nothing\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVersionFile([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
