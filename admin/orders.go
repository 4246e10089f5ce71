package admin

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/web"
)

// ordersView is the order table page.
type ordersView struct {
	F         filter
	Errors    []fieldError
	Invalid   map[string]bool // fields to mark aria-invalid
	Notice    string          // message ID: a refused cursor, a page past the end
	Rows      []orderRow
	Counts    []statusCount
	Total     int64
	Action    string // the table's URL, without a query
	SelfURL   string
	FirstURL  string
	NextURL   string
	PrevURL   string
	Statuses  []checkout.Status
	Gateways  []string
	Methods   []string
	Sorts     []string
	Pers      []int
	Filtered  bool
	Searching bool
}

// statusCount is one tab: a status, how many filtered orders have it,
// and the table narrowed to it.
type statusCount struct {
	Status  checkout.Status // "" for all
	N       int64
	URL     string
	Current bool
}

func (h *Handler) orders(c *gin.Context) {
	f, errs := parseFilter(c.Request.URL.Query())
	v := &ordersView{F: f, Errors: errs, Invalid: map[string]bool{}, Action: h.URL("/orders"),
		Statuses: checkout.Statuses, Sorts: []string{sortCreated, sortAmount}, Pers: []int{25, 50, 100, 200}}
	for _, e := range errs {
		v.Invalid[e.Field] = true
	}
	h.choices(v)
	v.FirstURL = h.tableURL(f.query())
	v.SelfURL = v.FirstURL
	if len(errs) > 0 {
		h.Render.Render(c, http.StatusBadRequest, "admin_orders", h.page(c, "", v))
		return
	}
	var cur *cursor
	if raw := f.After + f.Before; raw != "" {
		cu, err := h.cursors.decode(raw, f.fingerprint())
		if errors.Is(err, errBadCursor) || (err == nil && cu.Back != (f.Before != "")) {
			v.Notice = "admin.orders.bad_cursor"
			h.Render.Render(c, http.StatusBadRequest, "admin_orders", h.page(c, "", v))
			return
		}
		cur = &cu
		if f.After != "" {
			v.SelfURL = h.tableURL(f.query("after", f.After))
		} else {
			v.SelfURL = h.tableURL(f.query("before", f.Before))
		}
	}
	// The counts run beside the page's rows.
	ctx := c.Request.Context()
	var counts map[checkout.Status]int64
	var countErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		counts, countErr = h.statusCounts(ctx, f)
	}()
	rows, more, err := h.listOrders(ctx, f, cur)
	if err == nil {
		err = h.titles(ctx, rows, web.Lang(c, ""))
	}
	<-done
	if err != nil {
		h.failInternal(c, "list orders", "err", err)
		return
	}
	if countErr != nil {
		h.failInternal(c, "count orders", "err", countErr)
		return
	}
	v.Rows, v.Filtered, v.Searching = rows, f.filtered(), f.Q != ""
	h.tabs(v, counts)
	hasNext, hasPrev := more, false
	if cur != nil {
		if cur.Back {
			hasNext, hasPrev = true, more
		} else {
			hasPrev = true
		}
	}
	if len(rows) == 0 && cur != nil {
		v.Notice = "admin.orders.past_end"
		hasNext, hasPrev = false, false
	}
	fp := f.fingerprint()
	if hasNext && len(rows) > 0 {
		last := rows[len(rows)-1]
		v.NextURL = h.tableURL(f.query("after", h.cursors.encode(cursor{Key: keyOf(f, last), ID: last.ID}, fp)))
	}
	if hasPrev && len(rows) > 0 {
		first := rows[0]
		v.PrevURL = h.tableURL(f.query("before", h.cursors.encode(cursor{Key: keyOf(f, first), ID: first.ID, Back: true}, fp)))
	}
	h.Render.Render(c, http.StatusOK, "admin_orders", h.page(c, "", v))
}

func (h *Handler) tableURL(q url.Values) string {
	enc := encodeQuery(q)
	if enc == "" {
		return h.URL("/orders")
	}
	return h.URL("/orders") + "?" + enc
}

// choices lists the gateways and methods to filter by: the enabled ones,
// and whatever the URL names (an order may come from a gateway no longer
// enabled).
func (h *Handler) choices(v *ordersView) {
	v.Gateways = h.Registry.Names()
	for _, m := range h.Registry.Methods() {
		v.Methods = append(v.Methods, m.ID())
	}
	if g := v.F.Gateway; g != "" && !v.Invalid["gateway"] && !slices.Contains(v.Gateways, g) {
		v.Gateways = append(v.Gateways, g)
	}
	if m := v.F.Method; m != "" && !v.Invalid["method"] && !slices.Contains(v.Methods, m) {
		v.Methods = append(v.Methods, m)
	}
}

// tabs turns the counts into one link per status (and "all"), each
// keeping the rest of the filter and starting at the first page.
func (h *Handler) tabs(v *ordersView, counts map[checkout.Status]int64) {
	all := v.F
	all.Status = ""
	for _, n := range counts {
		v.Total += n
	}
	v.Counts = append(v.Counts, statusCount{N: v.Total, URL: h.tableURL(all.query()), Current: v.F.Status == ""})
	for _, st := range checkout.Statuses {
		f := v.F
		f.Status = st
		v.Counts = append(v.Counts, statusCount{Status: st, N: counts[st], URL: h.tableURL(f.query()), Current: v.F.Status == st})
	}
}
