package admin

import (
	"encoding/json"
	"net/url"
	"sort"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
)

// sortTimeline orders entries by time; at the same instant an attempt's
// start comes first, then events, then the status change they caused.
func sortTimeline(t []timelineEntry) {
	rank := func(e timelineEntry) int {
		switch {
		case e.Attempt != nil:
			return 0
		case e.Event != nil:
			return 1
		}
		return 2
	}
	sort.SliceStable(t, func(i, j int) bool {
		if !t[i].At.Equal(t[j].At) {
			return t[i].At.Before(t[j].At)
		}
		if ri, rj := rank(t[i]), rank(t[j]); ri != rj {
			return ri < rj
		}
		return id(t[i]) < id(t[j])
	})
}

func id(e timelineEntry) int64 {
	switch {
	case e.Attempt != nil:
		return e.Attempt.ID
	case e.Event != nil:
		return e.Event.ID
	case e.Change != nil:
		return e.Change.ID
	}
	return 0
}

func jsonText(v any) string {
	b, _ := json.Marshal(v) // maps of strings and numbers always marshal
	return string(b)
}

// pathOf is a URL's path and query (a Referer's), or "".
func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.RequestURI()
}

// When is the entry's time in Taiwan, to the second.
func (e timelineEntry) When() string { return e.At.In(checkout.Taipei).Format("2006-01-02 15:04:05") }

// ISO is the entry's time for <time datetime>.
func (e timelineEntry) ISO() string { return e.At.UTC().Format(time.RFC3339Nano) }
