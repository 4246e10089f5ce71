package web

import (
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// Limits bounds how fast one route group is called: per source address
// and in total, each a steady rate with a burst.
type Limits struct {
	PerSource, Total           rate.Limit // requests per second
	PerSourceBurst, TotalBurst int
}

// Or fills unset rates from def and unset bursts with twice the rate.
func (l Limits) Or(def Limits) Limits {
	if l.PerSource == 0 {
		l.PerSource = def.PerSource
	}
	if l.Total == 0 {
		l.Total = def.Total
	}
	if l.PerSourceBurst == 0 {
		l.PerSourceBurst = burst(l.PerSource)
	}
	if l.TotalBurst == 0 {
		l.TotalBurst = burst(l.Total)
	}
	return l
}

func burst(r rate.Limit) int {
	if r == rate.Inf || r > 1e6 {
		return 1 << 30
	}
	return max(1, int(2*r))
}

// maxSources bounds the per-source limiters kept; past it, idle ones are
// dropped (a flood of addresses cannot grow memory without end).
const maxSources = 10000

// RateLimit refuses requests over l with onLimit (which must answer, e.g.
// 429 without any acknowledgement, so a gateway retries later). It uses
// c.ClientIP, so the host must configure gin's trusted proxies.
func RateLimit(l Limits, onLimit func(c *gin.Context)) gin.HandlerFunc {
	total := rate.NewLimiter(l.Total, l.TotalBurst)
	type source struct {
		lim  *rate.Limiter
		seen time.Time
	}
	var mu sync.Mutex
	sources := map[string]*source{}
	return func(c *gin.Context) {
		now := time.Now()
		mu.Lock()
		s := sources[c.ClientIP()]
		if s == nil {
			if len(sources) >= maxSources {
				for ip, old := range sources {
					if now.Sub(old.seen) > time.Minute {
						delete(sources, ip)
					}
				}
				if len(sources) >= maxSources {
					clear(sources)
				}
			}
			s = &source{lim: rate.NewLimiter(l.PerSource, l.PerSourceBurst)}
			sources[c.ClientIP()] = s
		}
		s.seen = now
		ok := s.lim.AllowN(now, 1) && total.AllowN(now, 1)
		mu.Unlock()
		if !ok {
			onLimit(c)
			c.Abort()
			return
		}
		c.Next()
	}
}
