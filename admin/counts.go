package admin

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
)

// countsTTL is how long the counts per status of one filter are reused:
// counting a million orders takes about a second (an index-only scan of
// every matching row), so paging through one view counts once. Tabs may
// be this much behind the table.
const countsTTL = 30 * time.Second

// maxCached bounds the filters whose counts are kept.
const maxCached = 256

type countCache struct {
	mu sync.Mutex
	m  map[string]cachedCounts
}

type cachedCounts struct {
	at     time.Time
	counts map[checkout.Status]int64
}

// cachedCounts returns statusCounts for f, from the cache when fresh.
func (h *Handler) cachedCounts(ctx context.Context, f filter) (map[checkout.Status]int64, error) {
	f.Status, f.After, f.Before, f.Sort, f.Asc, f.Per = "", "", "", sortCreated, false, defaultPer
	conds, args := h.where(f)
	key := h.DB.NewRaw(strings.Join(append(conds, "true"), " AND "), args...).String()
	now := time.Now()
	h.counts.mu.Lock()
	c, ok := h.counts.m[key]
	h.counts.mu.Unlock()
	if ok && now.Sub(c.at) < countsTTL {
		return c.counts, nil
	}
	counts, err := h.statusCounts(ctx, f)
	if err != nil {
		return nil, err
	}
	h.counts.mu.Lock()
	defer h.counts.mu.Unlock()
	if h.counts.m == nil || len(h.counts.m) >= maxCached {
		for k, old := range h.counts.m {
			if now.Sub(old.at) >= countsTTL {
				delete(h.counts.m, k)
			}
		}
		if h.counts.m == nil || len(h.counts.m) >= maxCached {
			h.counts.m = map[string]cachedCounts{}
		}
	}
	h.counts.m[key] = cachedCounts{at: now, counts: counts}
	return counts, nil
}
