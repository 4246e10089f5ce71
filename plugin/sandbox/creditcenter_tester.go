package sandbox

import (
	"fmt"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Arm sets a fault for the next bk_posturl callback of the latest trade
// with that od_sob (see Fault).
func (s *CreditCenter) Arm(orderNo string, f Fault, delay time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byNo[orderNo]
	if t == nil {
		return fmt.Errorf("%w: %q", ErrCreditCenterUnknownTrade, orderNo)
	}
	return s.callbacks.armLocked(t.key(), f, delay)
}

// Release sends the trade's held (reordered) callbacks now.
func (s *CreditCenter) Release(orderNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byNo[orderNo]
	if t == nil {
		return fmt.Errorf("%w: %q", ErrCreditCenterUnknownTrade, orderNo)
	}
	s.callbacks.releaseLocked(t.key())
	return nil
}

func (s *CreditCenter) testerFaults(c *gin.Context) {
	serveFaults(c, strings.TrimSuffix(c.Request.URL.Path, "/tester/callbacks")+"/", s.Arm, s.Release)
}
