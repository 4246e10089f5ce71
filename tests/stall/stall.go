// Package stall plays a gateway that has stopped answering, for the
// timeout tests of the gateway clients and of what they leave behind.
package stall

import (
	"net/http"
	"time"
)

// Answer holds a request it has read: with trickle 0 it says nothing,
// otherwise it answers 200 and sends the byte trickle every 50 ms; either
// way until the client leaves or release is closed.
func Answer(w http.ResponseWriter, r *http.Request, release <-chan struct{}, trickle byte) {
	if trickle == 0 {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return
	}
	w.WriteHeader(http.StatusOK)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-release:
			return
		case <-time.After(50 * time.Millisecond):
			w.Write([]byte{trickle}) //nolint:errcheck // the client left: the context ends next
			w.(http.Flusher).Flush()
		}
	}
}
