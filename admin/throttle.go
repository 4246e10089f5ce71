package admin

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LoginLimits throttle failed sign-ins: per account (the email as typed,
// normalized, whether or not it exists, so the limit tells nothing) and
// per source address (gin's ClientIP: configure trusted proxies). Each is
// a refill rate with a burst; a successful sign-in costs nothing.
type LoginLimits struct {
	PerAccount, PerSource           rate.Limit
	PerAccountBurst, PerSourceBurst int
}

// DefaultLoginLimits: 5 wrong passwords for one account, then one a
// minute; 20 from one address, then one every 15 seconds.
var DefaultLoginLimits = LoginLimits{
	PerAccount: rate.Every(time.Minute), PerAccountBurst: 5,
	PerSource: rate.Every(15 * time.Second), PerSourceBurst: 20,
}

func (l LoginLimits) or(def LoginLimits) LoginLimits {
	if l.PerAccount == 0 {
		l.PerAccount, l.PerAccountBurst = def.PerAccount, def.PerAccountBurst
	}
	if l.PerSource == 0 {
		l.PerSource, l.PerSourceBurst = def.PerSource, def.PerSourceBurst
	}
	l.PerAccountBurst, l.PerSourceBurst = max(1, l.PerAccountBurst), max(1, l.PerSourceBurst)
	return l
}

// loginThrottle holds a limiter per account and per source.
type loginThrottle struct {
	accounts, sources *keyedLimiters
}

func newLoginThrottle(l LoginLimits) *loginThrottle {
	return &loginThrottle{accounts: newKeyed(l.PerAccount, l.PerAccountBurst), sources: newKeyed(l.PerSource, l.PerSourceBurst)}
}

// attempt is one sign-in's claim on both limiters.
type attempt struct{ res []*rate.Reservation }

// begin reserves one try for account and source, or reports false (and
// reserves nothing) when either is spent.
func (t *loginThrottle) begin(account, source string, now time.Time) (*attempt, bool) {
	a := t.accounts.get(account, now).ReserveN(now, 1)
	s := t.sources.get(source, now).ReserveN(now, 1)
	if !a.OK() || !s.OK() || a.DelayFrom(now) > 0 || s.DelayFrom(now) > 0 {
		a.CancelAt(now)
		s.CancelAt(now)
		return nil, false
	}
	return &attempt{res: []*rate.Reservation{a, s}}, true
}

// succeeded gives the try back: only failures count.
func (a *attempt) succeeded(now time.Time) {
	for _, r := range a.res {
		r.CancelAt(now)
	}
}

// maxKeys is when limiters idle long enough to be full again are
// dropped; at ten times as many all are (a flood of addresses cannot grow
// memory without end).
const maxKeys = 10000

type keyedLimiters struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	m     map[string]*keyed
}

type keyed struct {
	lim  *rate.Limiter
	seen time.Time
}

func newKeyed(l rate.Limit, burst int) *keyedLimiters {
	return &keyedLimiters{limit: l, burst: burst, m: map[string]*keyed{}}
}

func (k *keyedLimiters) get(key string, now time.Time) *rate.Limiter {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.m[key]
	if e == nil {
		if len(k.m) >= maxKeys {
			full := time.Duration(float64(k.burst) / float64(k.limit) * float64(time.Second))
			for key, old := range k.m {
				if now.Sub(old.seen) > full {
					delete(k.m, key)
				}
			}
			if len(k.m) >= 10*maxKeys {
				clear(k.m) // a flood of fresh keys: forget rather than grow
			}
		}
		e = &keyed{lim: rate.NewLimiter(k.limit, k.burst)}
		k.m[key] = e
	}
	e.seen = now
	return e.lim
}
