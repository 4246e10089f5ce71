package storefront

import (
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// Status polling backs off: the first question after 2 s, then 4, 8, 16
// and every 30 s, and none once 10 minutes of asking have passed (the
// panel then says so and offers its refresh link). The server decides:
// each answer carries the next delay and a ?poll= counter in the URL it
// polls next, so no client state is trusted beyond a small number.
const (
	pollFirst = 2 * time.Second
	pollMax   = 30 * time.Second
	pollFor   = 10 * time.Minute
)

// pollDelay is the wait before the next question when n were asked
// already, or 0 when polling has gone on long enough.
func pollDelay(n int) time.Duration {
	var elapsed time.Duration
	for i := 0; ; i++ {
		d := pollMax
		if i < 5 && pollFirst<<i < pollMax {
			d = pollFirst << i
		}
		if elapsed >= pollFor {
			return 0
		}
		if i == n {
			return d
		}
		elapsed += d
	}
}

// maxPolls bounds the counter read from the URL; past it polling stopped long ago.
const maxPolls = 1000

// pollCount reads ?poll= (0 when absent or not a number).
func pollCount(c *gin.Context) int {
	n, err := strconv.Atoi(c.Query("poll"))
	if err != nil || n < 0 {
		return 0
	}
	return min(n, maxPolls)
}

// withPoll sets the panel's next question from the request's counter: the
// delay and the URLs (panel, code status area) that carry poll=n+1.
func (h *Handler) withPoll(c *gin.Context, p *panel) {
	if !p.Poll {
		return
	}
	n := pollCount(c)
	p.PollDelay = int(pollDelay(n) / time.Second)
	p.PollURL = withQuery(p.SelfURL, "poll", strconv.Itoa(n+1))
	if p.Codes != nil {
		p.Codes.StatusURL = withQuery(p.Codes.StatusURL, "poll", strconv.Itoa(n+1))
	}
}

// withQuery sets one query parameter of a path with a query.
func withQuery(path, key, value string) string {
	u, err := url.Parse(path)
	if err != nil {
		return path
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
