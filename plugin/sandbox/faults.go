package sandbox

import (
	"errors"
	"fmt"
	"time"
)

// Fault is a tester's instruction for a trade's next server callback, set
// on a sandbox's index page (or with its Arm method). It applies once, to
// the next callback the sandbox starts for that trade, with all its
// retries. Real gateways do all of these by accident; the sandboxes do
// them on purpose so a shop can be seen to cope.
type Fault string

const (
	// FaultDrop: the callback is never sent (nor retried), as if every
	// delivery were lost; only reconciliation can find out.
	FaultDrop Fault = "drop"
	// FaultDelay: the callback waits the given delay before its first delivery.
	FaultDelay Fault = "delay"
	// FaultDuplicate: the first delivery is sent twice, back to back.
	FaultDuplicate Fault = "duplicate"
	// FaultReorder: the callback waits until the trade's following
	// callback was delivered (or the tester releases it), so the two
	// arrive in the other order.
	FaultReorder Fault = "reorder"
)

// Faults lists the faults a tester can arm, in display order.
var Faults = []Fault{FaultDrop, FaultDelay, FaultDuplicate, FaultReorder}

// ErrUnknownFault: Arm was given something not in Faults.
var ErrUnknownFault = errors.New("sandbox: unknown callback fault")

// maxFaultDelay bounds FaultDelay: long enough to watch, short enough that
// a forgotten delay does not hold a test.
const maxFaultDelay = time.Hour

type armedFault struct {
	fault Fault
	delay time.Duration
}

// faultState is what the deliverer keeps per trade key, guarded by its mu.
type faultState struct {
	armed    map[string]armedFault
	sent     map[string]int // deliveries made, per trade
	releases map[string]int // tester releases, per trade
	held     map[string]int // callbacks waiting (reorder), per trade
}

func (f *faultState) init() {
	if f.armed == nil {
		f.armed, f.sent, f.releases, f.held = map[string]armedFault{}, map[string]int{}, map[string]int{}, map[string]int{}
	}
}

// armLocked sets key's next callback's fault. Caller holds mu.
func (d *deliverer) armLocked(key string, f Fault, delay time.Duration) error {
	d.faults.init()
	switch f {
	case FaultDrop, FaultDuplicate, FaultReorder:
		delay = 0
	case FaultDelay:
		if delay <= 0 || delay > maxFaultDelay {
			return fmt.Errorf("%w: a delay must be between 1 s and %s", ErrUnknownFault, maxFaultDelay)
		}
	default:
		return fmt.Errorf("%w %q: want drop, delay, duplicate or reorder", ErrUnknownFault, f)
	}
	d.faults.armed[key] = armedFault{f, delay}
	d.broadcastLocked()
	return nil
}

// releaseLocked lets key's held callbacks go now. Caller holds mu.
func (d *deliverer) releaseLocked(key string) {
	d.faults.init()
	d.faults.releases[key]++
	d.broadcastLocked()
}

// FaultView is what an index page shows of a trade's faults.
type FaultView struct {
	Armed string // the fault waiting for the next callback, e.g. "delay 30s"
	Held  int    // callbacks held back (reorder) until released
}

// faultViewLocked describes key's faults. Caller holds mu.
func (d *deliverer) faultViewLocked(key string) FaultView {
	d.faults.init()
	v := FaultView{Held: d.faults.held[key]}
	if a, ok := d.faults.armed[key]; ok {
		v.Armed = string(a.fault)
		if a.fault == FaultDelay {
			v.Armed += " " + a.delay.String()
		}
	}
	return v
}

// takeLocked consumes key's armed fault for a callback starting now.
// Caller holds mu.
func (d *deliverer) takeLocked(key string) (armedFault, int, int) {
	d.faults.init()
	a := d.faults.armed[key]
	delete(d.faults.armed, key)
	return a, d.faults.sent[key], d.faults.releases[key]
}
