package web

import "time"

// taiwan is Taiwan time (UTC+8, no daylight saving: a fixed zone is exact
// and needs no tzdata); the same zone as checkout.Taipei.
var taiwan = time.FixedZone("Asia/Taipei", 8*60*60)

// DateTime is how every shopper page shows an instant: in Taiwan time,
// the date as the language writes it and the zone named, e.g.
// "2026/12/02 14:05（台灣時間）" or "2 Dec 2026, 14:05 Taiwan time".
func (l *Localizer) DateTime(t time.Time) string {
	t = t.In(taiwan)
	date := t.Format("2006/01/02")
	if l.Lang == "en" {
		date = t.Format("2 Jan 2006")
	}
	return l.T("time.datetime", "Date", date, "Time", t.Format("15:04"))
}
