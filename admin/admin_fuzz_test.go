package admin

import (
	"encoding/binary"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/tests/fuzzcheck"
)

// Fuzz targets for what a URL brings the back office: the order table's
// filters, the signed cursors, and the audit log's filter. `make fuzz`
// runs each for FUZZTIME; the seeds (below and testdata/fuzz/) run in
// `make test`.

var fuzzCursors = cursors{key: derive([]byte("fuzz secret"), "twpay admin cursor")}

// FuzzParseFilter: any query string gives a filter and field errors, never
// a panic; a filter without errors is within its bounds, and its own
// query() parses back to the same filter and fingerprint (one state, one
// URL).
func FuzzParseFilter(f *testing.F) {
	for _, q := range []string{"", "status=paid&gateway=ecpay&method=ecpay_credit&from=2026-01-01&to=2026-12-31&q=TP1&sort=amount&dir=asc&per=200",
		"q=buyer%40example.com&per=1", "status=paid&status=failed", "from=2026-02-30", "to=2026-01-01&from=2026-01-02",
		"q=%00", "q=%FF", "per=0", "per=201", "after=x&before=y", "sort=%20amount%20", "from=1999-12-31", "q=" + strings.Repeat("長", 70)} {
		fuzzcheck.Seed(f, q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		fl, errs := parseFilter(v)
		for _, e := range errs {
			if e.Field == "" || !strings.HasPrefix(e.Message, "admin.filter.error.") {
				t.Fatalf("field error %+v", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		if fl.Per < 1 || fl.Per > maxPer || len(fl.Q) > maxQ || strings.ContainsRune(fl.Q, 0) ||
			(fl.Sort != sortCreated && fl.Sort != sortAmount) || (fl.After != "" && fl.Before != "") ||
			(!fl.From.IsZero() && !fl.To.IsZero() && !fl.From.Before(fl.To)) {
			t.Fatalf("accepted %+v", fl)
		}
		again, errs := parseFilter(fl.query())
		want := fl
		want.After, want.Before = "", ""
		if len(errs) > 0 || !reflect.DeepEqual(again, want) || again.fingerprint() != fl.fingerprint() {
			t.Fatalf("round trip: %+v\n-> %+v, %v", want, again, errs)
		}
		if again, _ := parseFilter(fl.query("after", "c")); again.After != "c" || again.fingerprint() != fl.fingerprint() {
			t.Fatalf("a cursor changes the fingerprint: %+v", again)
		}
	})
}

// FuzzCursorDecode: a cursor from the URL is refused or is one we signed
// for this filter, and then re-encodes to exactly the string given (no
// second spelling of one cursor).
func FuzzCursorDecode(f *testing.F) {
	fp := filter{Sort: sortCreated, Per: defaultPer}.fingerprint()
	for _, c := range []cursor{{Key: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), ID: 42}, {Key: 500, ID: 1, Back: true}, {Key: -1, ID: 1 << 62}} {
		fuzzcheck.Seed(f, fuzzCursors.encode(c, fp))
	}
	good := fuzzCursors.encode(cursor{Key: 500, ID: 7}, fp)
	for _, s := range []string{"", "AAAA", respell(good, 1), good[:20] + "\n" + good[20:]} {
		fuzzcheck.Seed(f, s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := fuzzCursors.decode(s, fp)
		if err != nil {
			if !errors.Is(err, errBadCursor) {
				t.Fatalf("decode: %v", err)
			}
			return
		}
		if c.ID <= 0 {
			t.Fatalf("accepted id %d", c.ID)
		}
		if again := fuzzCursors.encode(c, fp); again != s {
			t.Fatalf("cursor %q decodes to %+v, which encodes as %q", s, c, again)
		}
	})
}

// FuzzCursorRoundTrip: every cursor we sign decodes to itself under its
// filter, and is refused under another filter, under another key, or with
// any one character changed.
func FuzzCursorRoundTrip(f *testing.F) {
	fuzzcheck.Seed(f, int64(1764547200000000), int64(42), false, uint64(0), uint(3), byte('A'))
	fuzzcheck.Seed(f, int64(-5), int64(1), true, uint64(1<<63), uint(54), byte('_'))
	other := cursors{key: derive([]byte("another secret"), "twpay admin cursor")}
	f.Fuzz(func(t *testing.T, key, id int64, back bool, fpBits uint64, pos uint, ch byte) {
		var fp [8]byte
		binary.BigEndian.PutUint64(fp[:], fpBits)
		c := cursor{Key: key, ID: id, Back: back}
		s := fuzzCursors.encode(c, fp)
		got, err := fuzzCursors.decode(s, fp)
		if id <= 0 {
			if err == nil {
				t.Fatalf("id %d accepted", id)
			}
			return
		}
		if err != nil || got != c {
			t.Fatalf("%+v -> %q -> %+v, %v", c, s, got, err)
		}
		otherFP := fp
		otherFP[pos%8] ^= 1 << (pos / 8 % 8)
		if _, err := fuzzCursors.decode(s, otherFP); err == nil {
			t.Fatal("accepted under another filter")
		}
		if _, err := other.decode(s, fp); err == nil {
			t.Fatal("accepted under another key")
		}
		if i := int(pos % uint(len(s))); s[i] != ch {
			if _, err := fuzzCursors.decode(s[:i]+string(ch)+s[i+1:], fp); err == nil {
				t.Fatalf("cursor with %q at %d accepted", ch, i)
			}
		}
	})
}

// FuzzAuditFilter: the audit log's filter, as its page reads it from the
// URL, survives its own query() (the first-page and next-page links), and
// its fingerprint (which binds a cursor) depends on each of its fields.
func FuzzAuditFilter(f *testing.F) {
	for _, q := range []string{"", "order=TP1&action=refund&actor=Boss%40Example.com&result=ok", "action=review.resolve&result=refused",
		"order=%20TP1%20", "actor=a%0Ab", "order=TP1&order=TP2", "result=x&after=abc"} {
		fuzzcheck.Seed(f, q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		fl := auditFilterOf(v)
		again := auditFilterOf(fl.query("after", fl.After))
		if again != fl {
			t.Fatalf("round trip: %+v -> %+v", fl, again)
		}
		if again.fingerprint() != fl.fingerprint() {
			t.Fatal("fingerprint changed on a round trip")
		}
		valid := (fl.Order == "" || orderNoPattern.MatchString(fl.Order)) && (fl.Action == "" || actionPattern.MatchString(fl.Action)) &&
			(fl.Actor == "" || oneLineID(fl.Actor)) && (fl.Result == "" || slices.Contains(auditResults, AuditResult(fl.Result)))
		if !valid {
			return
		}
		for _, change := range []func(*auditFilter){
			func(g *auditFilter) { g.Order += "X" }, func(g *auditFilter) { g.Action += "x" },
			func(g *auditFilter) { g.Actor += "x" }, func(g *auditFilter) { g.Result += "x" },
		} {
			changed := fl
			change(&changed)
			if changed.fingerprint() == fl.fingerprint() {
				t.Fatalf("%+v and %+v share a fingerprint", fl, changed)
			}
		}
		upper := fl
		upper.Actor = strings.ToUpper(fl.Actor)
		if upper.fingerprint() != fl.fingerprint() {
			t.Fatal("the actor matches case-insensitively, so its fingerprint must too")
		}
	})
}

// Regression: base64 decoding ignores CR/LF and the unused low bits of
// the last character, so one signed cursor had several spellings that
// all verified (FuzzCursorDecode's property: refused or re-encodes to
// itself). Only the spelling we issued is accepted now.
func TestCursorOneSpelling(t *testing.T) {
	fp := filter{Sort: sortCreated, Per: defaultPer}.fingerprint()
	good := fuzzCursors.encode(cursor{Key: 500, ID: 7}, fp)
	if _, err := fuzzCursors.decode(good, fp); err != nil {
		t.Fatalf("own cursor refused: %v", err)
	}
	for name, s := range map[string]string{
		"last bits 01":    respell(good, 1),
		"last bits 10":    respell(good, 2),
		"line feed":       good[:20] + "\n" + good[20:],
		"carriage return": good[:10] + "\r" + good[10:],
		"trailing CRLF":   good + "\r\n",
	} {
		if _, err := fuzzCursors.decode(s, fp); !errors.Is(err, errBadCursor) {
			t.Errorf("%s: %q accepted (%v)", name, s, err)
		}
	}
}

// respell changes the unused low bits of a cursor's last character.
func respell(s string, bits int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return s[:len(s)-1] + string(alphabet[strings.IndexByte(alphabet, s[len(s)-1])^bits])
}

// A huge query string costs memory in proportion to its size.
func TestParseFilterHugeInput(t *testing.T) {
	for name, raw := range map[string]string{
		"repeated": strings.Repeat("status=paid&", 1<<16),
		"q":        "q=" + strings.Repeat("%E9%95%B7", 1<<16),
		"cursor":   "after=" + strings.Repeat("A", 1<<20),
	} {
		fuzzcheck.Bounded(t, name, len(raw), 64, func() {
			v, _ := url.ParseQuery(raw)
			fl, _ := parseFilter(v)
			_, _ = fuzzCursors.decode(fl.After, fl.fingerprint())
		})
	}
}
