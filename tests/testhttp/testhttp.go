// Package testhttp has the small HTTP helpers the integration tests share:
// posting a form or JSON to a real server and reading a value out of a page.
package testhttp

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// PostForm posts an x-www-form-urlencoded body and returns status and body.
func PostForm(t testing.TB, url, body string) (int, string) {
	t.Helper()
	return post(t, url, "application/x-www-form-urlencoded", body)
}

// PostJSON posts a JSON body and returns the status and the reply's
// "Status" member (SinoPac's acknowledgement field).
func PostJSON(t testing.TB, url, body string) (int, string) {
	t.Helper()
	code, reply := post(t, url, "application/json", body)
	var ack struct{ Status string }
	json.Unmarshal([]byte(reply), &ack) //nolint:errcheck // a non-JSON reply has no Status
	return code, ack.Status
}

func post(t testing.TB, url, contentType, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// Between returns the text between the first start marker and the next
// end marker, or "".
func Between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}
