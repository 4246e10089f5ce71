package admin

import (
	"strings"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/riverqueue/river/rivertype"

	"github.com/twpay/twpay/locales"
	"github.com/twpay/twpay/plugin/checkout"
)

func TestPasswordHash(t *testing.T) {
	p := HashParams{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, err := HashPassword("correct horse battery staple", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("encoding %q", h)
	}
	h2, _ := HashPassword("correct horse battery staple", p)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt?")
	}
	cases := []struct {
		name, pw, hash string
		ok             bool
		err            bool
	}{
		{"right", "correct horse battery staple", h, true, false},
		{"wrong", "correct horse battery stapl", h, false, false},
		{"empty", "", h, false, false},
		{"other parameters still verify", "pw", mustHash(t, "pw", HashParams{Memory: 2048, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16}), true, false},
		{"not argon2id", "pw", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", false, true},
		{"bcrypt", "pw", "$2a$10$abcdefghijklmnopqrstuv", false, true},
		{"edited cost", "correct horse battery staple", strings.Replace(h, "t=1", "t=2", 1), false, false},
		{"absurd memory", "pw", strings.Replace(h, "m=1024", "m=999999999", 1), false, true},
		{"empty", "pw", "", false, true},
	}
	for _, c := range cases {
		ok, err := VerifyPassword(c.pw, c.hash)
		if ok != c.ok || (err != nil) != c.err {
			t.Errorf("%s: %v %v", c.name, ok, err)
		}
	}
}

func mustHash(t *testing.T, pw string, p HashParams) string {
	h, err := HashPassword(pw, p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A cursor verifies only as it was signed, for the filter it was made
// for: any edited byte, any other key or filter is refused.
func TestCursor(t *testing.T) {
	cs := cursors{key: []byte("0123456789abcdef0123456789abcdef")}
	f, _ := parseFilter(map[string][]string{"status": {"paid"}, "sort": {"amount"}})
	fp := f.fingerprint()
	for _, c := range []cursor{{Key: 1200, ID: 7}, {Key: -1, ID: 1, Back: true}, {Key: 1 << 62, ID: 1<<63 - 1}} {
		s := cs.encode(c, fp)
		got, err := cs.decode(s, fp)
		if err != nil || got != c {
			t.Fatalf("%+v: %+v %v", c, got, err)
		}
		raw := []byte(s)
		for i := range raw {
			edited := append([]byte(nil), raw...)
			edited[i] ^= 0x01
			if _, err := cs.decode(string(edited), fp); err == nil && string(edited) != s {
				// base64's last character may carry unused bits; it must still not verify as another cursor
				if d, _ := cs.decode(string(edited), fp); d != c {
					t.Errorf("edit at %d accepted as %+v", i, d)
				}
			}
		}
		other, _ := parseFilter(map[string][]string{"status": {"failed"}, "sort": {"amount"}})
		if _, err := cs.decode(s, other.fingerprint()); err == nil {
			t.Error("a cursor of another filter was accepted")
		}
		if _, err := (cursors{key: []byte("another key another key another k")}).decode(s, fp); err == nil {
			t.Error("a cursor signed with another key was accepted")
		}
	}
	for _, bad := range []string{"", "x", "%%%", strings.Repeat("A", 55), strings.Repeat("A", 1000)} {
		if _, err := cs.decode(bad, fp); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSafeNext(t *testing.T) {
	h := &Handler{base: "/admin"}
	for next, ok := range map[string]bool{
		"/admin": true, "/admin/orders?q=1": true, "/admin/orders/TW1": true,
		"": false, "/administrator": false, "//evil/admin": false, "https://evil/admin": false, "/admin/../shop": false,
		"/\\evil": false, "admin/orders": false, "/admin/./orders": false, "/admin\r\nX: y": false, "/shop": false,
	} {
		if got := h.safeNext(next); got != ok {
			t.Errorf("safeNext(%q) = %v", next, got)
		}
	}
}

// Message IDs the admin builds at run time exist in every language.
func TestRuntimeMessageIDs(t *testing.T) {
	bundle, err := locales.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range Roles {
		ids = append(ids, "admin.role."+string(r))
	}
	for _, s := range []string{sortCreated, sortAmount} {
		ids = append(ids, "admin.sort."+s)
	}
	for _, s := range []checkout.StartState{checkout.Starting, checkout.Started, checkout.StartUnknown} {
		ids = append(ids, "admin.start."+string(s))
	}
	for _, v := range []checkout.Verdict{checkout.Applied, checkout.Duplicate, checkout.Ignored, checkout.Rejected,
		checkout.Unmatched, checkout.SecondPayment, checkout.Recorded} {
		ids = append(ids, "admin.verdict."+string(v))
	}
	for _, s := range []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateCancelled, rivertype.JobStateCompleted,
		rivertype.JobStateDiscarded, rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled} {
		ids = append(ids, "admin.job.state."+string(s))
	}
	for _, e := range []string{"admin.filter.error.status", "admin.filter.error.gateway", "admin.filter.error.method", "admin.filter.error.date",
		"admin.filter.error.range", "admin.filter.error.q", "admin.filter.error.sort", "admin.filter.error.per", "admin.filter.error.cursor",
		"admin.filter.error.repeated", "admin.error.csrf", "admin.error.forbidden", "admin.error.unauthorized", "admin.error.order_not_found",
		"admin.login.wrong", "admin.login.throttled", "admin.login.signed_out", "admin.orders.bad_cursor", "admin.orders.past_end"} {
		ids = append(ids, e)
	}
	for _, lang := range []string{"zh-TW", "en"} {
		loc := i18n.NewLocalizer(bundle, lang)
		for _, id := range ids {
			if _, tag, err := loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: id}); err != nil || tag.String() != lang {
				t.Errorf("%s: %s missing (%v, %s)", lang, id, err, tag)
			}
		}
	}
}
