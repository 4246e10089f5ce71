package main

import (
	"fmt"
	"strings"
	"time"
)

// gwSummary is what the report says about the payments prepared for the
// SinoPac and credit-center measurements.
type gwSummary struct {
	SinoPacMade, CreditMade int
	SinoPacPrep, CreditPrep time.Duration
	Cap, Largest            int
	RanOut                  map[string]int
}

func (g *gwBench) summary() gwSummary {
	return gwSummary{SinoPacMade: g.sinopac.made, CreditMade: g.credit.made, SinoPacPrep: g.sinopac.prepTime,
		CreditPrep: g.credit.prepTime, Cap: g.perMeasurement, Largest: g.largestPrepared, RanOut: g.ranOut}
}

// gwReport writes the SinoPac backend and credit-center notify tables,
// each beside its sandbox endpoint measured alone.
func gwReport(b *strings.Builder, r reportData, med func(kind string, c int, f func(sample) float64) float64) {
	if len(r.Results["sinopac"]) == 0 && len(r.Results["creditcenter"]) == 0 {
		return
	}
	rps := func(s sample) float64 { return s.rps }
	p50 := func(s sample) float64 { return s.p50 }
	p99 := func(s sample) float64 { return s.p99 }
	cpu := func(s sample) float64 { return s.cpuPerReq }
	fmt.Fprintf(b, "\n## SinoPac backend and credit-center notify\n\n"+
		"Measured on the %s server only, in every round and at every connection count right after the ECPay measurements. "+
		"Each first-delivery measurement posts distinct payments prepared before it (a pending order and attempt per payment, "+
		"the trade created and paid at the in-process sandbox with the sandbox's own callback held back), so every request pays "+
		"another order. The sandbox runs in the server process, so the server's CPU includes it: the sandbox's endpoint was "+
		"measured alone right after, from as many keep-alive connections for half as long (%s), asked about the payments just made; "+
		"twpay's own CPU is the difference.\n\n", r.Modes[0], aloneDuration(r.Duration))
	for _, t := range []struct {
		kind, alone, title, what, unit, units string
	}{
		{"sinopac", "sinopac-query", "`POST /payments/sinopac/backend` (JSON {ShopNo, PayToken}); each request makes one " +
			"OrderPayQuery to the sandbox (a Nonce call and the sealed Order call)", "OrderPayQuery", "query", "queries"},
		{"creditcenter", "creditcenter-recheck", "`POST /payments/creditcenter/notify` (the genuine bk_posturl form); each " +
			"request makes one g_recheck to the sandbox", "g_recheck", "re-check", "re-checks"},
	} {
		if len(r.Results[t.kind]) == 0 {
			continue
		}
		fmt.Fprintf(b, "%s:\n\n", t.title)
		fmt.Fprintf(b, "| connections | req/s | p50 ms | p99 ms | server CPU ms/req | errors | paid == acked | sandbox %s alone %s/s | its p50 ms | its p99 ms | sandbox CPU ms/%s | twpay's own CPU ms/req (difference) | sandbox's share of the CPU |\n",
			t.what, t.units, t.unit)
		b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, c := range r.Clients {
			errs, acc := 0, true
			for _, s := range r.Results[t.kind][c] {
				errs += s.errors
				acc = acc && s.accounted
			}
			aloneErrs := 0
			for _, s := range r.Results[t.alone][c] {
				aloneErrs += s.errors
			}
			total, sb := med(t.kind, c, cpu), med(t.alone, c, cpu)
			share := 0.0
			if total > 0 {
				share = 100 * sb / total
			}
			aloneNote := ""
			if aloneErrs > 0 {
				aloneNote = fmt.Sprintf(" (%d errors)", aloneErrs)
			}
			fmt.Fprintf(b, "| %d | %.0f | %.1f | %.1f | %.2f | %d | %v | %.0f%s | %.1f | %.1f | %.2f | %.2f | %.0f%% |\n", c,
				med(t.kind, c, rps), med(t.kind, c, p50), med(t.kind, c, p99), total, errs, acc,
				med(t.alone, c, rps), aloneNote, med(t.alone, c, p50), med(t.alone, c, p99), sb, total-sb, share)
		}
		b.WriteString("\n")
	}
	g := r.GW
	fmt.Fprintf(b, "Prepared outside the measurements: %d SinoPac payments (OrderCreate and the card page, %s) and %d credit-center "+
		"payments (form_Sc_to5, the card page and its bk_posturl post to a sink, %s); a measurement had up to %d",
		g.SinoPacMade, g.SinoPacPrep.Round(time.Second), g.CreditMade, g.CreditPrep.Round(time.Second), g.Largest)
	if g.Cap > 0 {
		fmt.Fprintf(b, " (capped by -gw-max %d)", g.Cap)
	}
	b.WriteString(", and one it did not reach went to the next.")
	if n := g.RanOut["sinopac"] + g.RanOut["creditcenter"]; n > 0 {
		fmt.Fprintf(b, " %d measurements (SinoPac %d, credit center %d) used up their payments before %s: they ran shorter.",
			n, g.RanOut["sinopac"], g.RanOut["creditcenter"], r.Duration)
	}
	fmt.Fprintf(b, "\n\nThis run took %s from seeding to this report.\n", r.Total.Round(time.Second))
}
