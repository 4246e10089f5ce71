package admin

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/web"
)

// exportTimeout bounds one export (a million rows take well under a
// minute); the request's own context ends it sooner when the client goes.
var exportTimeout = 10 * time.Minute

// exportBatch is how many rows one FETCH reads: memory stays at one
// batch whatever the export's size.
const exportBatch = 1000

// utf8BOM makes Excel (set to Traditional Chinese in Taiwan) read the
// file as UTF-8 instead of Big5.
const utf8BOM = "\ufeff"

// exportColumns are the header's message IDs, in column order.
var exportColumns = []string{
	"admin.export.col.order_no", "admin.export.col.created", "admin.export.col.paid_at", "admin.export.col.status",
	"admin.export.col.gateway", "admin.export.col.method", "admin.export.col.amount", "admin.export.col.refunded",
	"admin.export.col.buyer_name", "admin.export.col.buyer_email", "admin.export.col.reference", "admin.export.col.item",
	"admin.export.col.gateway_trade_no", "admin.export.col.merchant_trade_no",
	"admin.export.col.buyer_phone", "admin.export.col.invoice_carrier", "admin.export.col.invoice_code",
	"admin.export.col.invoice_tax_id", "admin.export.col.invoice_company",
}

// exportRow is one line of the export: the table's row and what the
// table does not show.
type exportRow struct {
	orderRow
	PaidAt          *time.Time `bun:"paid_at"`
	Refunded        int64      `bun:"refunded"`
	GatewayTradeNo  string     `bun:"gateway_trade_no"`
	MerchantTradeNo string     `bun:"merchant_trade_no"`
	// The buyer's phone and e-invoice details (the last columns).
	BuyerPhone     string `bun:"buyer_phone"`
	InvoiceCarrier string `bun:"invoice_carrier"`
	InvoiceCode    string `bun:"invoice_code"`
	InvoiceTaxID   string `bun:"invoice_tax_id"`
	InvoiceCompany string `bun:"invoice_company"`
}

// ExportURL is the CSV of the table's current filter and sort (all
// rows: no cursor, no page size).
func (v *ordersView) ExportURL() string {
	q := v.F.query()
	q.Del("per")
	if enc := encodeQuery(q); enc != "" {
		return v.Action + ".csv?" + enc
	}
	return v.Action + ".csv"
}

// export serves GET /orders.csv: the order table's filter and sort (the
// same query string), every matching row, streamed as CSV. Viewers may
// export, but each export is audited: the file carries shoppers' emails.
func (h *Handler) export(c *gin.Context) {
	f, errs := parseFilter(c.Request.URL.Query())
	if len(errs) > 0 {
		h.orders(c) // the table's own page with the same errors, 400
		return
	}
	f.After, f.Before, f.Per = "", "", defaultPer // all rows, not a page
	lang := web.Lang(c, "")                       // before the body starts: it may set the session cookie
	audit, err := h.BeginAudit(c, "export", "", encodeQuery(f.query()))
	if err != nil {
		h.failInternal(c, "audit export", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), exportTimeout)
	defer cancel()
	// The export streams for longer than a server's WriteTimeout allows a
	// page: its own deadline is the export's (not every writer has one).
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(exportTimeout))
	name := "twpay-orders-" + h.Now().In(checkout.Taipei).Format("20060102-1504") + ".csv"
	hd := c.Writer.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Status(http.StatusOK)
	out := &watchedWriter{ResponseWriter: c.Writer}
	n, err := h.writeExport(ctx, out, f, lang, 0)
	switch {
	case err == nil:
		audit.Finish(ctx, AuditOK, strconv.Itoa(n)+" rows") //nolint:errcheck // Finish logs its own failure
	case out.err != nil || ctx.Err() != nil:
		// The client went away (or the timeout struck): nobody reads on.
		audit.Finish(ctx, AuditFailed, fmt.Sprintf("stopped after %d rows: %v", n, err)) //nolint:errcheck
		h.abort(c)
	default:
		id := web.NewErrorID()
		h.Log.Error("admin: export", "error_id", id, "rows", n, "err", err)
		audit.Finish(ctx, AuditError, id) //nolint:errcheck
		h.abort(c)
	}
}

// watchedWriter remembers a failed write: the client went away.
type watchedWriter struct {
	gin.ResponseWriter
	err error
}

func (w *watchedWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

func (w *watchedWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// abort cuts the connection of an export that failed half way, so the
// browser reports a failed download instead of saving a file that looks
// whole (the status line went out with the first rows). Without a
// hijackable connection (HTTP/2) the file ends early: the audit row and
// the log say why.
func (h *Handler) abort(c *gin.Context) {
	if conn, _, err := http.NewResponseController(c.Writer).Hijack(); err == nil {
		conn.Close()
	}
}

// writeExport writes the BOM, the header and every row f matches (at
// most limit, 0 for all) to w in f's order, and returns how many rows it
// wrote.
//
// The rows come from one server-side cursor in a read-only REPEATABLE
// READ transaction, FETCHed a batch at a time: the file is one snapshot
// of the orders (a refund settling or an order paid during a long export
// cannot make its rows disagree with each other, or count an order
// twice), and the walk runs the table's own index in one pass instead of
// seeking again for each batch. The snapshot is held only as long as the
// export runs, which exportTimeout bounds.
func (h *Handler) writeExport(ctx context.Context, w io.Writer, f filter, lang string, limit int) (int, error) {
	l := web.NewLocalizer(h.Bundle, lang)
	flusher, _ := w.(http.Flusher)
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // what Excel writes and expects
	header := make([]string, len(exportColumns))
	for i, id := range exportColumns {
		header[i] = l.T(id)
	}
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	tx, err := h.DB.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // read only: nothing to keep
	q, args := h.exportQuery(f, limit)
	if _, err := tx.ExecContext(ctx, "DECLARE twpay_export NO SCROLL CURSOR FOR "+q, args...); err != nil {
		return 0, err
	}
	n := 0
	record := make([]string, len(exportColumns))
	batch := make([]exportRow, 0, exportBatch)
	table := make([]orderRow, 0, exportBatch)
	for {
		clear(batch[:cap(batch)]) // bun scans over what a reused element held (a NULL paid_at must stay nil)
		batch = batch[:0]
		if err := tx.NewRaw(fmt.Sprintf("FETCH %d FROM twpay_export", exportBatch)).Scan(ctx, &batch); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return n, err
		}
		if len(batch) == 0 {
			break
		}
		table = table[:0]
		for _, r := range batch {
			table = append(table, r.orderRow)
		}
		if err := h.titles(ctx, table, lang); err != nil {
			return n, err
		}
		for i, r := range batch {
			fillRecord(record, r, table[i].Title, l)
			if err := cw.Write(record); err != nil {
				return n, err
			}
			n++
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
		if flusher != nil {
			flusher.Flush()
		}
		if len(batch) < exportBatch {
			break
		}
	}
	cw.Flush()
	return n, cw.Error()
}

// exportQuery is the table's statement (where, the sort and its id
// tie-break) for every row, with what the export adds: when it was paid,
// what went back through succeeded refunds (of the order's own payment:
// a second payment's refund returns money the amount never counted) and
// the current attempt's trade numbers.
func (h *Handler) exportQuery(f filter, limit int) (string, []any) {
	conds, args := h.where(f)
	dir := "DESC"
	if f.Asc {
		dir = "ASC"
	}
	q := `SELECT o.id, o.order_no, o.created_at, o.paid_at, o.amount, o.status, o.gateway, o.method, o.buyer_email,
		o.buyer_name, o.reference, o.description, o.plan_id, o.items,
		o.buyer_phone, o.invoice_carrier, o.invoice_code, o.invoice_tax_id, o.invoice_company,
		coalesce((SELECT sum(r.amount) FROM refunds r WHERE r.order_id = o.id AND r.state = 'succeeded' AND NOT r.duplicate), 0) AS refunded,
		coalesce(a.gateway_trade_no, '') AS gateway_trade_no, coalesce(a.merchant_trade_no, '') AS merchant_trade_no
		FROM orders o LEFT JOIN payment_attempts a ON a.id = o.current_attempt_id`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s %s, o.id %s", sortColumn(f), dir, dir)
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return q, args
}

// fillRecord writes r's cells into record, in exportColumns' order.
func fillRecord(record []string, r exportRow, title string, l *web.Localizer) {
	paid, method := "", ""
	if r.PaidAt != nil {
		paid = taipeiTime(*r.PaidAt)
	}
	if r.Method != "" {
		method = l.T("method." + r.MethodID())
	}
	record[0] = r.OrderNo
	record[1] = taipeiTime(r.CreatedAt)
	record[2] = paid
	record[3] = l.T("status." + string(r.Status))
	record[4] = r.Gateway
	record[5] = method
	record[6] = strconv.FormatInt(r.Amount, 10)
	record[7] = strconv.FormatInt(r.Refunded, 10)
	record[8] = r.BuyerName
	record[9] = r.BuyerEmail
	record[10] = r.Reference
	record[11] = title
	record[12] = r.GatewayTradeNo
	record[13] = r.MerchantTradeNo
	record[14] = r.BuyerPhone
	record[15] = ""
	if r.InvoiceCarrier != "" {
		record[15] = l.T("invoice.carrier." + r.InvoiceCarrier)
	}
	record[16] = r.InvoiceCode
	record[17] = r.InvoiceTaxID
	record[18] = r.InvoiceCompany
	for i := range record {
		record[i] = defuse(record[i])
	}
}

func taipeiTime(t time.Time) string { return t.In(checkout.Taipei).Format("2006-01-02 15:04:05") }

// defuse keeps a spreadsheet from reading a cell as a formula (OWASP's
// CSV injection advice): a cell starting with = + - @, a tab or a
// carriage return gets a leading apostrophe. Names, emails and
// references come from shoppers and host apps.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
