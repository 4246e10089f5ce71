package sandbox

import (
	"fmt"
	"time"

	"github.com/gin-gonic/gin"
)

// Arm sets a fault (FaultDrop, FaultDelay with delay, FaultDuplicate,
// FaultReorder) for the next BackendURL callback of the latest order with
// that OrderNo.
func (s *SinoPac) Arm(orderNo string, f Fault, delay time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byNo[orderNo]
	if o == nil {
		return fmt.Errorf("%w: OrderNo %q", ErrSinoPacUnknownOrder, orderNo)
	}
	return s.callbacks.armLocked(o.key(), f, delay)
}

// Release sends the order's held (reordered) callbacks now.
func (s *SinoPac) Release(orderNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byNo[orderNo]
	if o == nil {
		return fmt.Errorf("%w: OrderNo %q", ErrSinoPacUnknownOrder, orderNo)
	}
	s.callbacks.releaseLocked(o.key())
	return nil
}

func (s *SinoPac) testerFaults(c *gin.Context) {
	serveFaults(c, sinopacMount(c, "/tester/callbacks")+"/", s.Arm, s.Release)
}
