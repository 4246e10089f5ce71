package sandbox

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// Descriptions. Only the success text (with U+2013 EN DASH, verified on
// bank responses) and E0602 (IT1) are documented (sinopac.md §4, §9). The
// other E-codes are the sandbox's own choice, UNCONFIRMED as the bank's:
// shops must not branch on them; the English text says what is wrong.
const (
	sinopacDescOK         = "S0000 \u2013 處理成功"
	sinopacDescParam      = "E0101 參數格式錯誤 Invalid parameter"                      // unconfirmed
	sinopacDescDuplicate  = "E0102 訂單編號重複 OrderNo already used by this shop"      // unconfirmed
	sinopacDescNoData     = "E0201 查無資料 No such PayToken for this shop"           // unconfirmed
	sinopacDescService    = "E0301 服務未開放 APIService not simulated by the sandbox" // unconfirmed
	sinopacDescNotEnabled = "E0602 收款方式未啟用"                                       // IT1, sinopac.md §5
	sinopacDescDeclined   = "E0701 授權失敗 Card declined (sandbox decline card)"     // unconfirmed
	sinopacBankNo         = "807"                                                 // Bank SinoPac's bank code (sinopac.md §7)
	sinopacMaxQueryRows   = 300                                                   // OrderQuery limit (sinopac.md §7)
	sinopacMaxBody        = 1 << 20
)

// PayStatus codes in OrderQuery. 1A200/1A400 are the bank's (sinopac.md §7).
// The card codes are UNCONFIRMED, the sandbox's own choice: 1C200 not paid,
// 1C300 authorised but not captured (AutoBilling=N), 1C400 captured.
const (
	sinopacATMUnpaid   = "1A200"
	sinopacATMPaid     = "1A400"
	sinopacCardUnpaid  = "1C200"
	sinopacCardAuthed  = "1C300"
	sinopacCardCapture = "1C400"
)

// sinopacAPIError is the body of a refused API call. The bank's reply to a
// missing X-KeyID, an unknown shop, a bad nonce, or a Sign / Message that
// does not verify is UNCONFIRMED (sinopac.md §2, §9): it cannot sign a reply
// for a request it could not authenticate. The sandbox answers HTTP 401
// (X-KeyID) or 400 (anything else) with the {"Message": "..."} body an
// ASP.NET Web API (which QPay.WebAPI is) gives for a refused request.
// sinopac.Client turns both into an *sinopac.HTTPError.
type sinopacAPIError struct {
	Message string `json:"Message"`
}

func (s *SinoPac) refuse(c *gin.Context, status int, msg string, args ...any) {
	s.log.Info("API call refused", append([]any{"path", c.Request.URL.Path, "status", status, "reason", msg}, args...)...)
	c.AbortWithStatusJSON(status, sinopacAPIError{Message: "sandbox: " + msg})
}

// checkKeyID enforces the X-KeyID header (sinopac.md §1).
func (s *SinoPac) checkKeyID(c *gin.Context) bool {
	got := strings.TrimSpace(c.GetHeader("X-KeyID"))
	switch {
	case got == "":
		s.refuse(c, http.StatusUnauthorized, "X-KeyID header missing")
		return false
	case s.keyID != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.keyID)) != 1:
		s.refuse(c, http.StatusUnauthorized, "X-KeyID not valid")
		return false
	}
	return true
}

// sinopacReadJSON decodes a bounded JSON body.
func sinopacReadJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, sinopacMaxBody))
	if err != nil {
		return err
	}
	return json.Unmarshal(bytes.TrimSpace(body), v)
}

func (s *SinoPac) apiNonce(c *gin.Context) {
	if !s.checkKeyID(c) {
		return
	}
	var req sinopac.NonceRequest
	if err := sinopacReadJSON(c, &req); err != nil {
		s.refuse(c, http.StatusBadRequest, "body must be JSON {\"ShopNo\":...}")
		return
	}
	shopNo := strings.TrimSpace(req.ShopNo)
	if _, ok := s.shops[shopNo]; !ok {
		s.refuse(c, http.StatusBadRequest, "unknown ShopNo", "shop", shopNo)
		return
	}
	now := s.now()
	nonce := sinopac.NewNonce(now)
	s.mu.Lock()
	if now.Sub(s.nonceSweep) > sinopacNonceTTL { // forget nonces long past their lifetime, now and then
		for k, n := range s.nonces {
			if now.Sub(n.issued) > 2*sinopacNonceTTL {
				delete(s.nonces, k)
			}
		}
		s.nonceSweep = now
	}
	s.nonces[nonce] = &sinopacNonce{shopNo: shopNo, issued: now}
	s.mu.Unlock()
	c.JSON(http.StatusOK, sinopac.NonceResponse{Nonce: nonce})
}

// useNonce consumes a nonce: it must have been issued by this sandbox for
// that shop, be unused and younger than sinopacNonceTTL. A nonce is used up
// by the attempt, even when the envelope then fails to verify.
func (s *SinoPac) useNonce(nonce, shopNo string, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nonces[nonce]
	switch {
	case n == nil:
		return "Nonce was not issued by this sandbox (or is long expired)"
	case n.shopNo != shopNo:
		return "Nonce was issued for another ShopNo"
	case n.used:
		return "Nonce already used: nonces are single-use"
	case now.Sub(n.issued) > sinopacNonceTTL:
		n.used = true
		return fmt.Sprintf("Nonce expired: nonces are valid %s", sinopacNonceTTL)
	}
	n.used = true
	return ""
}

func (s *SinoPac) apiOrder(c *gin.Context) {
	if !s.checkKeyID(c) {
		return
	}
	var env sinopac.Envelope
	if err := sinopacReadJSON(c, &env); err != nil {
		s.refuse(c, http.StatusBadRequest, "body must be a JSON envelope {Version, ShopNo, APIService, Nonce, Sign, Message}")
		return
	}
	if env.Version != sinopac.Version {
		s.refuse(c, http.StatusBadRequest, "Version must be "+sinopac.Version)
		return
	}
	hashID, ok := s.shops[env.ShopNo]
	if !ok {
		s.refuse(c, http.StatusBadRequest, "unknown ShopNo", "shop", env.ShopNo)
		return
	}
	now := s.now()
	if msg := s.useNonce(env.Nonce, env.ShopNo, now); msg != "" {
		s.refuse(c, http.StatusBadRequest, msg, "shop", env.ShopNo)
		return
	}
	var raw json.RawMessage
	if err := sinopac.OpenRequest(hashID, env, &raw); err != nil {
		msg := "Message or Sign does not verify with the shop's keys"
		if errors.Is(err, sinopac.ErrBadEnvelope) {
			msg = "envelope incomplete"
		}
		s.refuse(c, http.StatusBadRequest, msg, "shop", env.ShopNo, "err", err)
		return
	}
	var resp any
	switch env.APIService {
	case sinopac.ServiceOrderCreate:
		resp = s.orderCreate(c, env.ShopNo, raw, now)
	case sinopac.ServiceOrderPayQuery:
		resp = s.orderPayQuery(env.ShopNo, raw, now)
	case sinopac.ServiceOrderQuery:
		resp = s.orderQuery(env.ShopNo, raw, now)
	case sinopac.ServiceOrderMaintain:
		resp = s.orderMaintain(env.ShopNo, raw, now)
	default:
		// Real services (BillQuery, AllotQuery ...) the sandbox does not
		// play get a signed failure, so a client sees an API error.
		resp = struct {
			ShopNo      string `json:"ShopNo"`
			Date        string `json:"Date"`
			Status      string `json:"Status"`
			Description string `json:"Description"`
		}{env.ShopNo, sinopac.FormatDateTime(now), sinopac.StatusFailure, sinopacDescService + ": " + env.APIService}
	}
	out, err := sinopac.SealResponse(hashID, env, sinopac.NewNonce(now), resp)
	if err != nil {
		s.log.Error("sealing response", "service", env.APIService, "err", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, sinopacAPIError{Message: "sandbox: cannot seal response"})
		return
	}
	body, err := sinopac.Marshal(out)
	if err != nil {
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

// sinopacDetail strips the sinopac package's error prefix for a Description.
func sinopacDetail(err error) string {
	return strings.TrimPrefix(err.Error(), sinopac.ErrInvalidRequest.Error()+": ")
}

// sinopacHTTPURL accepts an absolute http(s) URL. Unlike the bank, the
// sandbox accepts localhost and any port, so a local shop is reachable.
func sinopacHTTPURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// orderCreate validates an OrderCreate the way the bank would and stores it.
func (s *SinoPac) orderCreate(c *gin.Context, shopNo string, raw []byte, now time.Time) sinopac.OrderCreateResponse {
	var req sinopac.OrderCreateRequest // Amount converted to TWD; a non-whole amount fails
	if err := json.Unmarshal(raw, &req); err != nil {
		desc := sinopacDescParam + ": malformed OrderCreate JSON"
		if errors.Is(err, sinopac.ErrBadAmount) {
			desc = sinopacDescParam + ": Amount must be an integer in TWD×100 that is a whole TWD"
		}
		return s.createFailed(shopNo, req, desc, err)
	}
	fail := func(desc string) sinopac.OrderCreateResponse { return s.createFailed(shopNo, req, desc, nil) }
	if req.ShopNo != shopNo {
		return fail(sinopacDescParam + ": ShopNo differs from the envelope's")
	}
	if req.PayType == sinopac.PayTypeCard && req.CardParam.PayTypeSub != "" && req.CardParam.PayTypeSub != "ONE" {
		// The bank's sandbox enables only ONE (pay in full) (sinopac.md §5, IT1).
		return fail(sinopacDescNotEnabled)
	}
	if err := req.Validate(); err != nil {
		return fail(sinopacDescParam + ": " + sinopacDetail(err))
	}
	var expires time.Time
	switch req.PayType {
	case sinopac.PayTypeATM:
		if req.ATMParam.ExpireDate < sinopac.FormatDate(now) {
			return fail(sinopacDescParam + ": ATMParam.ExpireDate is in the past")
		}
		d, _ := sinopac.ParseDate(req.ATMParam.ExpireDate) // checked by Validate
		expires = d.AddDate(0, 0, 1)                       // payable through 23:59 of that day
	case sinopac.PayTypeCard:
		if req.ReturnURL == "" {
			return fail(sinopacDescParam + ": ReturnURL is required for card orders")
		}
		mins := req.CardParam.ExpMinutes
		if mins == 0 {
			mins = sinopacDefaultExpMinutes
		}
		expires = now.Add(time.Duration(mins) * time.Minute)
	}
	for name, v := range map[string]string{"ReturnURL": req.ReturnURL, "BackendURL": req.BackendURL} {
		if v != "" && !sinopacHTTPURL(v) {
			return fail(sinopacDescParam + ": " + name + " must be an absolute http(s) URL")
		}
	}
	amountRaw := req.Amount * 100 // Validate bounds Amount, so no overflow
	o := &sinopacOrder{shopNo: shopNo, req: req, amountRaw: amountRaw, created: now, expires: expires}
	base := s.base(c, "/api/Order")

	s.mu.Lock()
	key := shopNo + "\x00" + req.OrderNo
	if s.byKey[key] != nil {
		s.mu.Unlock()
		return fail(sinopacDescDuplicate)
	}
	prefix, _, _ := strings.Cut(shopNo, "_")
	if _, ok := s.tsSeq[prefix]; !ok {
		// A random start: the bank's TSNo is unique for good, and a
		// sandbox restarted on the same database (make run) or several in
		// one test must not hand out the same ones again.
		start, _ := strconv.Atoi(randomDigits(7))
		s.tsSeq[prefix] = start * 10
	}
	s.tsSeq[prefix]++
	o.tsNo = fmt.Sprintf("%s%08d", prefix, s.tsSeq[prefix])
	if o.isATM() {
		var no string
		for no == "" || s.byAtm[no] != nil {
			no = "99922" + randomDigits(9) // 14 digits, like the bank's sandbox (sinopac.md §5)
		}
		tk := randomHex(16)
		tk = tk[:8] + "-" + tk[8:12] + "-" + tk[12:16] + "-" + tk[16:20] + "-" + tk[20:]
		q := "?TD=" + o.tsNo + "&TK=" + tk
		o.atm = &sinopac.ATMResult{AtmPayNo: no, WebAtmURL: base + "/Bridge/PayWebATM" + q, OtpURL: base + "/Bridge/PayOTP" + q}
		s.byAtm[no] = o
	} else {
		for o.cardRef == "" || s.byCard[o.cardRef] != nil {
			o.cardRef = randomHex(16)
		}
		o.cardURL = base + "/card/" + o.cardRef
		s.byCard[o.cardRef] = o
	}
	s.orders = append(s.orders, o)
	s.byKey[key] = o
	s.byNo[req.OrderNo] = o
	s.callbacks.broadcastLocked()
	s.mu.Unlock()

	s.log.Info("OrderCreate", "shop", shopNo, "order", req.OrderNo, "pay_type", req.PayType, "amount_twd", req.Amount, "ts_no", o.tsNo)
	resp := sinopac.OrderCreateResponse{
		OrderNo: req.OrderNo, ShopNo: shopNo, TSNo: o.tsNo, PayType: req.PayType, AmountRaw: amountRaw,
		Status: sinopac.StatusSuccess, Description: sinopacDescOK,
		Param1: req.Param1, Param2: req.Param2, Param3: req.Param3,
	}
	if o.atm != nil {
		atm := *o.atm
		resp.ATMParam = &atm
	} else {
		resp.CardParam = &sinopac.CardResult{CardPayURL: o.cardURL}
	}
	return resp
}

func (s *SinoPac) createFailed(shopNo string, req sinopac.OrderCreateRequest, desc string, err error) sinopac.OrderCreateResponse {
	s.log.Info("OrderCreate refused", "shop", shopNo, "order", req.OrderNo, "description", desc, "err", err)
	resp := sinopac.OrderCreateResponse{
		OrderNo: req.OrderNo, ShopNo: shopNo, PayType: req.PayType,
		Status: sinopac.StatusFailure, Description: desc,
	}
	if req.Amount > 0 && req.Amount <= 1<<50 {
		resp.AmountRaw = req.Amount * 100
	}
	return resp
}

// orderPayQuery answers what a PayToken stands for (sinopac.md §6).
func (s *SinoPac) orderPayQuery(shopNo string, raw []byte, now time.Time) sinopac.PayQueryResponse {
	var req sinopac.PayQueryRequest
	_ = json.Unmarshal(raw, &req)
	resp := sinopac.PayQueryResponse{ShopNo: shopNo, PayToken: req.PayToken, Date: sinopac.FormatDateTime(now)}
	if req.ShopNo != shopNo {
		resp.Status, resp.Description = sinopac.StatusFailure, sinopacDescParam+": ShopNo differs from the envelope's"
		return resp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.tokens[req.PayToken]
	if p == nil || p.order.shopNo != shopNo {
		resp.Status, resp.Description = sinopac.StatusFailure, sinopacDescNoData
		return resp
	}
	o := p.order
	ts := &sinopac.TSResult{
		APType: o.apTypeLocked(), TSNo: o.tsNo, OrderNo: o.req.OrderNo, ShopNo: shopNo,
		PayType: o.req.PayType, AmountRaw: fmt.Sprint(o.amountRaw), // a string here (sinopac.md §6)
		Status: sinopac.StatusFailure, Description: p.description, PayDate: sinopac.FormatDateTime(p.at),
		Param1: o.req.Param1, Param2: o.req.Param2, Param3: o.req.Param3,
		LeftCCNo: p.card6, RightCCNo: p.card4, CCExpDate: p.ccExp,
	}
	if p.ok {
		ts.Status = sinopac.StatusSuccess
	}
	resp.Status, resp.Description, resp.TSResultContent = sinopac.StatusSuccess, sinopacDescOK, ts
	return resp
}

// orderQuery lists the shop's orders matching the criteria (sinopac.md §7),
// oldest first, at most 300. No match is Status "S" with an empty list
// (the bank's answer to that is UNCONFIRMED).
func (s *SinoPac) orderQuery(shopNo string, raw []byte, now time.Time) sinopac.OrderQueryResponse {
	var req sinopac.OrderQueryRequest
	_ = json.Unmarshal(raw, &req)
	resp := sinopac.OrderQueryResponse{ShopNo: shopNo, Date: sinopac.FormatDateTime(now)}
	if req.ShopNo != shopNo {
		resp.Status, resp.Description = sinopac.StatusFailure, sinopacDescParam+": ShopNo differs from the envelope's"
		return resp
	}
	if err := req.Validate(); err != nil {
		resp.Status, resp.Description = sinopac.StatusFailure, sinopacDescParam+": "+sinopacDetail(err)
		return resp
	}
	in := func(v, from, to string) bool { return v != "" && (from == "" || v >= from) && (to == "" || v <= to) }
	s.mu.Lock()
	defer s.mu.Unlock()
	resp.OrderList = []sinopac.OrderInfo{}
	for _, o := range s.orders {
		if len(resp.OrderList) == sinopacMaxQueryRows {
			break
		}
		info := o.infoLocked()
		switch {
		case o.shopNo != shopNo,
			req.OrderNo != "" && req.OrderNo != o.req.OrderNo,
			req.PayType != "" && req.PayType != o.req.PayType,
			(req.OrderDateTimeS != "" || req.OrderDateTimeE != "") && !in(info.TSDate, req.OrderDateTimeS, req.OrderDateTimeE),
			(req.PayDateTimeS != "" || req.PayDateTimeE != "") && !in(info.PayDate, req.PayDateTimeS, req.PayDateTimeE),
			req.PayFlag == "Y" && !o.captured(),
			req.PayFlag == "N" && o.captured(),
			req.PayFlag == "O" && (o.paid != nil || now.Before(o.expires)):
			continue
		}
		resp.OrderList = append(resp.OrderList, info)
	}
	resp.Status, resp.Description = sinopac.StatusSuccess, sinopacDescOK
	s.orderQueryFaultsLocked(req, &resp) // test knobs (sinopac_faults.go)
	return resp
}

// infoLocked is the order as OrderQuery lists it. Caller holds SinoPac.mu.
func (o *sinopacOrder) infoLocked() sinopac.OrderInfo {
	r := o.req
	info := sinopac.OrderInfo{
		OrderNo: r.OrderNo, TSNo: o.tsNo, TSDate: sinopac.FormatDateTime(o.created),
		AmountRaw: o.amountRaw, PayType: r.PayType, RefundFlag: "N",
		PrdtName: r.PrdtName, Memo: r.Memo, Param1: r.Param1, Param2: r.Param2, Param3: r.Param3,
	}
	if o.isATM() {
		info.PayStatus = sinopacATMUnpaid
		info.ExpireDate = r.ATMParam.ExpireDate + "2359"
		info.ATMParam = &sinopac.OrderATM{AtmPayNo: o.atm.AtmPayNo, WebAtmURL: o.atm.WebAtmURL, OtpURL: o.atm.OtpURL, BankNo: sinopacBankNo}
		if o.paid != nil {
			info.PayStatus = sinopacATMPaid
			info.PayDate = sinopac.FormatDateTime(o.paid.at)
		}
		return info
	}
	info.PayStatus = sinopacCardUnpaid
	info.ExpireDate = sinopac.FormatDateTime(o.expires)
	info.CardParam = &sinopac.OrderCard{CardPayURL: o.cardURL}
	if o.maintain.refunded > 0 { // RefundStatus and RefundDate formats are unconfirmed: left empty
		info.RefundFlag, info.RefundAmountRaw = "Y", o.maintain.refunded*100
	}
	if p := o.paid; p != nil {
		info.PayStatus = sinopacCardAuthed
		info.ApprovedDate = sinopac.FormatDateTime(p.at)
		if o.captured() {
			info.PayStatus = sinopacCardCapture
			info.PayDate = info.ApprovedDate
		}
		info.CardParam.LeftCCNo, info.CardParam.RightCCNo = p.card6, p.card4
		info.CardParam.CCExpDate, info.CardParam.AuthCode = p.ccExp, o.authCode
	}
	return info
}
