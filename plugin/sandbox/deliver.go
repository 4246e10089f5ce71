package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Delivery is one server-to-server callback attempt: an ECPay ReturnURL
// notification or a SinoPac BackendURL post.
type Delivery struct {
	At     time.Time // when the POST was sent
	Status int       // HTTP status of the shop's answer; 0 when no answer
	Body   string    // the shop's answer, truncated to 200 bytes
	Acked  bool      // the answer is an ack by the gateway's own rule (see Deliveries, BackendDeliveries)
	Err    string    // transport error, or why the answer is not an ack
	Note   string    // a tester's fault that shaped this delivery (dropped, duplicate, ...)
}

// deliveryLog is one callback's deliveries: an ECPay trade's ReturnURL
// notifications or a SinoPac order's BackendURL posts. It lives in the
// trade or order it belongs to, is written only by deliverer.run and is
// guarded by the owner's lock.
type deliveryLog struct {
	entries  []Delivery
	started  bool // a delivery goroutine was started
	acked    bool
	finished bool // the delivery goroutine is done
}

// entriesLocked copies the deliveries, oldest first; nil for a nil log.
// Caller holds the owner's lock.
func (l *deliveryLog) entriesLocked() []Delivery {
	if l == nil {
		return nil
	}
	return append([]Delivery(nil), l.entries...)
}

// firstDoneLocked reports whether the first delivery was made, or none ever
// will be. Caller holds the owner's lock.
func (l *deliveryLog) firstDoneLocked() bool { return len(l.entries) > 0 || l.finished }

// deliverer is the callback machinery both stand-ins share: it runs each
// callback's schedule in the background (wait the next delay, POST once,
// record the Delivery, stop at the first ack or when the schedule ends),
// lets callers wait for the ack, and shuts down. What a delivery posts and
// what counts as an ack stay each gateway's own rules.
//
// mu is the owner's lock. It guards every deliveryLog, closed and changed
// together with the owner's own state, so a wait can test both at once;
// the owner calls broadcastLocked on every change a wait may test.
type deliverer struct {
	mu          *sync.Mutex
	delays      []time.Duration
	client      *http.Client
	log         *slog.Logger
	now         func() time.Time
	userAgent   string
	errClosed   error // what waits return once the owner is closed
	errNotAcked error // what waitAcked returns once a schedule ended without an ack

	ctx    context.Context // cancelled by close; bounds every delivery
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// guarded by mu
	closed  bool
	changed chan struct{} // closed and replaced on every state change
	faults  faultState    // testers' faults by trade key (faults.go)
}

// deliveryConfig configures a deliverer. Delays defaults to DefaultDelays,
// Client to a 10 s timeout; Log and Now are required.
type deliveryConfig struct {
	Delays, DefaultDelays []time.Duration // the delay before each delivery, counted from the previous one
	Client                *http.Client
	Log                   *slog.Logger
	Now                   func() time.Time
	UserAgent             string
	ErrClosed             error
	ErrNotAcked           error
}

// newDeliverer returns a deliverer guarded by the owner's lock mu. Call
// close when done.
func newDeliverer(mu *sync.Mutex, cfg deliveryConfig) *deliverer {
	d := &deliverer{
		mu:          mu,
		delays:      slices.Clone(cfg.Delays),
		client:      cfg.Client,
		log:         cfg.Log,
		now:         cfg.Now,
		userAgent:   cfg.UserAgent,
		errClosed:   cfg.ErrClosed,
		errNotAcked: cfg.ErrNotAcked,
		changed:     make(chan struct{}),
	}
	if len(d.delays) == 0 {
		d.delays = slices.Clone(cfg.DefaultDelays)
	}
	if d.client == nil {
		d.client = &http.Client{Timeout: 10 * time.Second}
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.faults.init()
	return d
}

// broadcastLocked wakes every wait. Caller holds mu.
func (d *deliverer) broadcastLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// startLocked runs l's schedule in the background unless l was started
// before or the deliverer is closed. key names the trade l belongs to
// (for the tester's faults); attempt performs delivery n (from 0) and
// returns its record; each is logged as logMsg with logArgs. Caller holds
// mu.
func (d *deliverer) startLocked(l *deliveryLog, key string, attempt func(n int) Delivery, logMsg string, logArgs ...any) {
	if d.closed || l.started {
		return
	}
	l.started = true
	fault, sent, releases := d.takeLocked(key)
	d.wg.Add(1)
	go d.run(l, key, fault, sent, releases, attempt, d.log.With(logArgs...), logMsg)
}

// run delivers on the schedule until the shop acknowledges, the schedule
// ends, or the deliverer closes, shaped by the tester's fault.
func (d *deliverer) run(l *deliveryLog, key string, f armedFault, sent, releases int, attempt func(n int) Delivery, log *slog.Logger, logMsg string) {
	defer d.wg.Done()
	defer func() {
		d.mu.Lock()
		l.finished = true
		d.broadcastLocked()
		d.mu.Unlock()
	}()
	record := func(dl Delivery) {
		d.mu.Lock()
		l.entries = append(l.entries, dl)
		l.acked = l.acked || dl.Acked
		d.faults.sent[key]++
		d.broadcastLocked()
		d.mu.Unlock()
	}
	switch f.fault {
	case FaultDrop:
		record(Delivery{At: d.now(), Err: "not sent", Note: "dropped by the tester"})
		log.Info(logMsg + ": dropped by the tester")
		return
	case FaultDelay:
		if !sleepCtx(d.ctx, f.delay) {
			return
		}
	case FaultReorder:
		d.mu.Lock()
		d.faults.held[key]++
		d.broadcastLocked()
		d.mu.Unlock()
		err := d.wait(d.ctx, func() (bool, error) {
			return d.closed || d.faults.sent[key] > sent || d.faults.releases[key] > releases, nil
		})
		d.mu.Lock()
		d.faults.held[key]--
		d.broadcastLocked()
		d.mu.Unlock()
		if err != nil {
			return
		}
	}
	for i, delay := range d.delays {
		if !sleepCtx(d.ctx, delay) {
			return
		}
		dl := attempt(i)
		if f.fault != "" && i == 0 {
			dl.Note = string(f.fault) + " (tester)"
		}
		record(dl)
		log.Info(logMsg, "attempt", i+1, "status", dl.Status, "acked", dl.Acked, "err", dl.Err)
		if f.fault == FaultDuplicate && i == 0 {
			again := attempt(i)
			again.Note = "duplicate (tester)"
			record(again)
			log.Info(logMsg+": duplicate", "status", again.Status, "acked", again.Acked, "err", again.Err)
			dl.Acked = dl.Acked || again.Acked
		}
		if dl.Acked {
			return
		}
	}
}

// post sends one delivery and judges the answer: an ack is HTTP 200 with a
// body in which notAck, the gateway's own rule, finds nothing wrong
// (notAck returns why a body is not an ack, or "").
func (d *deliverer) post(target, contentType string, body []byte, notAck func(answer []byte) string) Delivery {
	dl := Delivery{At: d.now()}
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		dl.Err = err.Error()
		return dl
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", d.userAgent)
	resp, err := d.client.Do(req)
	if err != nil {
		dl.Err = err.Error()
		return dl
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	dl.Status = resp.StatusCode
	dl.Body = truncateUTF8(string(answer), 200)
	switch {
	case err != nil:
		dl.Err = "reading answer: " + err.Error()
	case resp.StatusCode != http.StatusOK:
		dl.Err = fmt.Sprintf("HTTP %d, want 200", resp.StatusCode)
	default:
		dl.Err = notAck(answer)
		dl.Acked = dl.Err == ""
	}
	return dl
}

// deliveries copies the log find returns (nil when there is none), oldest
// first. find runs under mu.
func (d *deliverer) deliveries(find func() *deliveryLog) []Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	return find().entriesLocked()
}

// wait blocks until check, run under mu now and after every change, says
// it is done, or ctx ends.
func (d *deliverer) wait(ctx context.Context, check func() (done bool, err error)) error {
	for {
		d.mu.Lock()
		done, err := check()
		changed := d.changed
		d.mu.Unlock()
		if done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// waitAcked blocks until the log find returns is acked, or ctx ends. find
// runs under mu; it returns a nil log while there is none yet, and
// alongside the log the error to return when nothing will ever be
// delivered to it. waitAcked returns errClosed once the deliverer is
// closed and errNotAcked once the schedule ended without an ack, since
// nothing can change after that.
func (d *deliverer) waitAcked(ctx context.Context, find func() (*deliveryLog, error)) error {
	return d.wait(ctx, func() (bool, error) {
		l, never := find()
		switch {
		case l != nil && l.acked:
			return true, nil
		case d.closed:
			return true, d.errClosed
		case l != nil && l.finished:
			return true, d.errNotAcked
		case never != nil:
			return true, never
		}
		return false, nil
	})
}

// close stops the deliveries, cancelling any in flight, and waits for their
// goroutines. Nothing starts after close.
func (d *deliverer) close() {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		d.broadcastLocked()
	}
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}
