package checkout_test

import (
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/tests/testdb"
)

// 統一編號: the Ministry of Finance's checksum, with the 2023 rule (sum
// divisible by 5) and the 7th-digit-is-7 case.
func TestValidTaxID(t *testing.T) {
	cases := []struct {
		id    string
		valid bool
		why   string
	}{
		{"22099131", true, "sum 30 (TSMC's number)"},
		{"04595257", true, "sum 40"},
		{"04595252", true, "sum 35: valid only since the 2023 rule (divisible by 5, not 10)"},
		{"10458575", true, "7th digit 7, sum 30"},
		{"10458574", true, "7th digit 7: sum 29, plus one is 30"},
		{"12345675", true, "7th digit 7: sum 39, plus one is 40"},
		{"22099130", false, "sum 29 and the 7th digit is not 7"},
		{"12345678", false, "sum 42"},
		{"10458576", false, "7th digit 7, but neither 31 nor 32 is divisible by 5"},
		{"2209913", false, "7 digits"},
		{"220991310", false, "9 digits"},
		{"2209913A", false, "a letter"},
		{"２２０９９１３１", false, "full-width digits"},
		{"", false, "empty"},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			if got := checkout.ValidTaxID(c.id); got != c.valid {
				t.Fatalf("ValidTaxID(%q) = %v, want %v (%s)", c.id, got, c.valid, c.why)
			}
		})
	}
}

func TestBuyerCheck(t *testing.T) {
	ok := checkout.Buyer{Name: "林小美", Email: "mei@example.tw"}
	with := func(f func(b *checkout.Buyer)) checkout.Buyer { b := ok; f(&b); return b }
	cases := []struct {
		name        string
		b           checkout.Buyer
		needContact bool
		want        checkout.FieldErrors
	}{
		{"name and email", ok, true, nil},
		{"nothing, for a host", checkout.Buyer{}, false, nil},
		{"nothing, at the checkout", checkout.Buyer{}, true, checkout.FieldErrors{{"name", "required"}, {"email", "required"}}},
		{"blank name", with(func(b *checkout.Buyer) { b.Name = "  " }), true, checkout.FieldErrors{{"name", "required"}}},
		{"name with a newline", with(func(b *checkout.Buyer) { b.Name = "a\nb" }), false, checkout.FieldErrors{{"name", "invalid"}}},
		{"NUL in the name", with(func(b *checkout.Buyer) { b.Name = "林\x00" }), true, checkout.FieldErrors{{"name", "invalid"}}},
		{"101 characters", with(func(b *checkout.Buyer) { b.Name = repeat("林", 101) }), true, checkout.FieldErrors{{"name", "too_long"}}},
		{"email without @", with(func(b *checkout.Buyer) { b.Email = "mei.example.tw" }), true, checkout.FieldErrors{{"email", "invalid"}}},
		{"email with a display name", with(func(b *checkout.Buyer) { b.Email = "Mei <mei@example.tw>" }), true, checkout.FieldErrors{{"email", "invalid"}}},
		{"email without a domain dot", with(func(b *checkout.Buyer) { b.Email = "mei@localhost" }), true, checkout.FieldErrors{{"email", "invalid"}}},
		{"mobile phone", with(func(b *checkout.Buyer) { b.Phone = "0912-345-678" }), true, nil},
		{"landline", with(func(b *checkout.Buyer) { b.Phone = "(02) 2345-6789#123" }), true, nil},
		{"international", with(func(b *checkout.Buyer) { b.Phone = "+886 912 345 678" }), true, nil},
		{"phone with letters", with(func(b *checkout.Buyer) { b.Phone = "0912-ABC" }), true, checkout.FieldErrors{{"phone", "invalid"}}},
		{"short phone", with(func(b *checkout.Buyer) { b.Phone = "12345" }), true, checkout.FieldErrors{{"phone", "invalid"}}},
		{"mobile barcode", with(func(b *checkout.Buyer) { b.Carrier, b.CarrierCode = "mobile", "/ab+12.-" }), true, nil},
		{"mobile barcode without slash", with(func(b *checkout.Buyer) { b.Carrier, b.CarrierCode = "mobile", "AB+12.-Z" }), true, checkout.FieldErrors{{"invoice_code", "invalid"}}},
		{"mobile barcode too short", with(func(b *checkout.Buyer) { b.Carrier, b.CarrierCode = "mobile", "/AB12" }), true, checkout.FieldErrors{{"invoice_code", "invalid"}}},
		{"citizen certificate", with(func(b *checkout.Buyer) { b.Carrier, b.CarrierCode = "citizen", "AB12345678901234" }), true, nil},
		{"citizen certificate short", with(func(b *checkout.Buyer) { b.Carrier, b.CarrierCode = "citizen", "AB1234567890123" }), true, checkout.FieldErrors{{"invoice_code", "invalid"}}},
		{"donation code", with(func(b *checkout.Buyer) { b.Carrier, b.CarrierCode = "donate", "8585" }), true, nil},
		{"donation code too long", with(func(b *checkout.Buyer) { b.Carrier, b.CarrierCode = "donate", "12345678" }), true, checkout.FieldErrors{{"invoice_code", "invalid"}}},
		{"carrier without code", with(func(b *checkout.Buyer) { b.Carrier = "mobile" }), true, checkout.FieldErrors{{"invoice_code", "required"}}},
		{"code without carrier", with(func(b *checkout.Buyer) { b.CarrierCode = "/AB+12.-" }), true, checkout.FieldErrors{{"invoice_carrier", "required"}}},
		{"unknown carrier", with(func(b *checkout.Buyer) { b.Carrier, b.CarrierCode = "paper", "x" }), true, checkout.FieldErrors{{"invoice_carrier", "invalid"}}},
		{"company", with(func(b *checkout.Buyer) {
			b.TaxID, b.CompanyName = "22099131", "台灣積體電路製造股份有限公司"
		}), true, nil},
		{"company bad checksum", with(func(b *checkout.Buyer) { b.TaxID, b.CompanyName = "22099132", "台積電" }), true, checkout.FieldErrors{{"invoice_tax_id", "invalid"}}},
		{"company without name", with(func(b *checkout.Buyer) { b.TaxID = "22099131" }), true, checkout.FieldErrors{{"invoice_company", "required"}}},
		{"company name without number", with(func(b *checkout.Buyer) { b.CompanyName = "台積電" }), true, checkout.FieldErrors{{"invoice_tax_id", "required"}}},
		{"company and a carrier", with(func(b *checkout.Buyer) {
			b.TaxID, b.CompanyName, b.Carrier, b.CarrierCode = "22099131", "台積電", "donate", "8585"
		}), true, checkout.FieldErrors{{"invoice_tax_id", "conflict"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := c.b.Check(c.needContact)
			if !reflect.DeepEqual(errs, c.want) {
				t.Fatalf("Check = %v, want %v", errs, c.want)
			}
			if errs != nil && !errors.Is(errs, checkout.ErrInvalidOrder) {
				t.Fatal("field errors do not wrap ErrInvalidOrder")
			}
		})
	}
	// Normalised: trimmed, carrier codes in capitals.
	b, _ := checkout.Buyer{Name: " 林小美 ", Email: " mei@example.tw ", Carrier: "mobile", CarrierCode: " /ab+12.- "}.Check(true)
	if b.Name != "林小美" || b.Email != "mei@example.tw" || b.CarrierCode != "/AB+12.-" {
		t.Fatalf("normalised %+v", b)
	}
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

// The buyer is stored on the order, by Place and by CreateOrder (the same
// check), and the order is found again by its number and email only.
func TestBuyerStoredAndFound(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	p := firstPlan(t, s)
	buyer := checkout.Buyer{Name: "林小美", Email: "Mei@Example.tw", Phone: "0912-345-678", TaxID: "22099131", CompanyName: "台積電"}
	o, a, created, err := s.Place(ctx, checkout.Placement{PlanID: p.ID, ClaimedAmount: p.Price, Lang: "zh-TW", Buyer: buyer, Spec: ecpaySpec()})
	if err != nil || !created || a == nil {
		t.Fatal(created, err)
	}
	got, err := s.Order(ctx, o.OrderNo)
	if err != nil || got.Buyer() != buyer {
		t.Fatalf("stored %+v, want %+v (%v)", got.Buyer(), buyer, err)
	}
	host, err := s.CreateOrder(ctx, checkout.OrderRequest{Amount: 500, Description: "tea", BuyerName: "王大明",
		BuyerEmail: "wang@example.tw", InvoiceCarrier: "mobile", InvoiceCode: "/abc.123"})
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := s.Order(ctx, host.OrderNo); h.InvoiceCarrier != "mobile" || h.InvoiceCode != "/ABC.123" {
		t.Fatalf("host order's carrier %q %q", h.InvoiceCarrier, h.InvoiceCode)
	}
	if _, err := s.CreateOrder(ctx, checkout.OrderRequest{Amount: 500, Description: "tea", InvoiceTaxID: "12345678", InvoiceCompany: "x"}); !errors.Is(err, checkout.ErrInvalidOrder) {
		t.Fatalf("host order with a bad tax ID: %v", err)
	}

	cases := []struct {
		name, no, email string
		found           bool
	}{
		{"right", o.OrderNo, "mei@example.tw", true},
		{"email in another case, spaces", " " + o.OrderNo + " ", " MEI@example.TW ", true},
		{"number in lower case", toLower(o.OrderNo), "mei@example.tw", true},
		{"wrong email", o.OrderNo, "lin@example.tw", false},
		{"email prefix", o.OrderNo, "mei@example.t", false},
		{"wrong number", "TW000000XXXXXX", "mei@example.tw", false},
		{"empty email", o.OrderNo, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := s.OrderByEmail(ctx, c.no, c.email)
			if c.found && (err != nil || f.ID != o.ID) {
				t.Fatalf("not found: %v", err)
			}
			if !c.found && !errors.Is(err, checkout.ErrOrderNotFound) {
				t.Fatalf("found %v, err %v", f, err)
			}
		})
	}
	// An order kept without an email is never found by an empty one.
	noEmail, _ := s.CreateOrder(ctx, checkout.OrderRequest{Amount: 500, Description: "tea"})
	if _, err := s.OrderByEmail(ctx, noEmail.OrderNo, ""); !errors.Is(err, checkout.ErrOrderNotFound) {
		t.Fatalf("order without an email: %v", err)
	}
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// Concurrent placements with one key make one order and one attempt, and
// every caller gets that order.
func TestPlaceIdempotent(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	p := firstPlan(t, s)
	const n = 8
	var wg sync.WaitGroup
	nos := make([]string, n)
	attempts := make([]int64, n)
	made := make([]bool, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			o, a, created, err := s.Place(ctx, checkout.Placement{PlanID: p.ID, ClaimedAmount: p.Price, Lang: "en",
				Buyer: checkout.Buyer{Name: "Mei", Email: "mei@example.tw"}, IdempotencyKey: "k-1", Spec: ecpaySpec()})
			errs[i], made[i] = err, created
			if err == nil {
				nos[i], attempts[i] = o.OrderNo, a.ID
			}
		}(i)
	}
	wg.Wait()
	creators := 0
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if made[i] {
			creators++
		}
		if nos[i] != nos[0] || attempts[i] != attempts[0] {
			t.Fatalf("placement %d got %s/%d, first %s/%d", i, nos[i], attempts[i], nos[0], attempts[0])
		}
	}
	if creators != 1 || count(t, db, "SELECT count(*) FROM orders") != 1 || count(t, db, "SELECT count(*) FROM payment_attempts") != 1 {
		t.Fatalf("%d creators, %d orders, %d attempts", creators, count(t, db, "SELECT count(*) FROM orders"), count(t, db, "SELECT count(*) FROM payment_attempts"))
	}
	// Another key is another order.
	if _, _, created, err := s.Place(ctx, checkout.Placement{PlanID: p.ID, ClaimedAmount: p.Price, IdempotencyKey: "k-2", Spec: ecpaySpec()}); err != nil || !created {
		t.Fatal(created, err)
	}
}

// Concurrent retries of a failed order with one form key (a double click
// on "try again", two tabs) make one new attempt, and every caller gets it;
// another key after that is refused as usual (the new attempt is live).
func TestNewAttemptFormKey(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	p := firstPlan(t, s)
	o, a, _, err := s.Place(ctx, checkout.Placement{PlanID: p.ID, ClaimedAmount: p.Price, Lang: "en", Spec: ecpaySpec()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FailAttempt(ctx, a, "declined"); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	ids := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			spec := ecpaySpec()
			spec.FormKey = "retry-1"
			_, a, err := s.NewAttempt(ctx, o.OrderNo, spec)
			if errors.Is(err, checkout.ErrFormUsed) {
				err = nil
			}
			errs[i] = err
			if a != nil {
				ids[i] = a.ID
			}
		}(i)
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] == 0 || ids[i] != ids[0] {
			t.Fatalf("retry %d: attempt %d (first %d), %v", i, ids[i], ids[0], errs[i])
		}
	}
	if got := count(t, db, "SELECT count(*) FROM payment_attempts"); got != 2 {
		t.Fatalf("%d attempts, want the first and one retry", got)
	}
	spec := ecpaySpec()
	spec.FormKey = "retry-2"
	if _, _, err := s.NewAttempt(ctx, o.OrderNo, spec); !errors.Is(err, checkout.ErrNotRetryable) {
		t.Fatalf("another form while the retry is live: %v", err)
	}
}
