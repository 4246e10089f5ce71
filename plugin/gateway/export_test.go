package gateway

import "time"

// SetFallbackTimeout shortens DefaultTimeout for a test; restore puts it back.
func SetFallbackTimeout(d time.Duration) (restore func()) {
	old := fallbackTimeout
	fallbackTimeout = d
	return func() { fallbackTimeout = old }
}
