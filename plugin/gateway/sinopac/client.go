package sinopac

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/twpay/twpay/plugin/gateway"
)

// Client calls the bank. It holds no mutable state and is safe for
// concurrent use.
type Client struct {
	BaseURL    string // ends with "/api/"; see ProductionBaseURL, SandboxBaseURL
	ShopNo     string
	Keys       Keys
	KeyID      gateway.Secret // X-KeyID header value; trimmed before use
	HTTPClient *http.Client   // nil: a client with a 30 s timeout
}

var defaultHTTPClient = gateway.Client(30 * time.Second)

// OrderQuery may return 300 orders; 8 MiB is far above that.
const maxResponseBytes = 8 << 20

// Nonce fetches a fresh single-use nonce (about 60 s lifetime, spec §1).
func (c *Client) Nonce(ctx context.Context) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	var out NonceResponse
	if err := c.post(ctx, "Nonce", "Nonce", NonceRequest{ShopNo: c.ShopNo}, &out); err != nil {
		return "", err
	}
	if out.Nonce == "" {
		return "", ErrNoNonce
	}
	return out.Nonce, nil
}

// call runs one Order service: fresh nonce, seal, POST, then open the reply
// with the reply's own nonce and decode it into resp.
func (c *Client) call(ctx context.Context, service string, req, resp any) error {
	if err := c.check(); err != nil {
		return err
	}
	hashID, err := c.Keys.HashID()
	if err != nil {
		return err
	}
	nonce, err := c.Nonce(ctx)
	if err != nil {
		return err
	}
	env, err := Seal(hashID, c.ShopNo, service, nonce, req)
	if err != nil {
		return err
	}
	var out Envelope
	if err := c.post(ctx, "Order", service, env, &out); err != nil {
		return err
	}
	if err := openInto(hashID, out, resp); err != nil {
		return fmt.Errorf("sinopac: %s response: %w", service, err)
	}
	return nil
}

// op names the call for an Observer: the endpoint, or the Order service.
func (c *Client) post(ctx context.Context, endpoint, op string, in, out any) error {
	body, err := Marshal(in)
	if err != nil {
		return fmt.Errorf("sinopac: encode %s: %w", endpoint, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL()+endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-KeyID", strings.TrimSpace(c.KeyID.Reveal()))
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	res, err := gateway.Do(hc, req, "sinopac", op)
	if err != nil {
		return fmt.Errorf("sinopac: POST %s: %w", endpoint, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("sinopac: POST %s: read body: %w", endpoint, err)
	}
	if res.StatusCode != http.StatusOK {
		return &HTTPError{Endpoint: endpoint, StatusCode: res.StatusCode, Body: data[:min(len(data), maxErrorBody)]}
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("%w: %s response larger than %d bytes", ErrBadEnvelope, endpoint, maxResponseBytes)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s response is not the expected JSON: %v", ErrBadEnvelope, endpoint, err)
	}
	return nil
}

func (c *Client) check() error {
	switch {
	case c.BaseURL == "":
		return fmt.Errorf("%w: BaseURL is empty", ErrConfig)
	case c.ShopNo == "":
		return fmt.Errorf("%w: ShopNo is empty", ErrConfig)
	case strings.TrimSpace(c.KeyID.Reveal()) == "":
		// Mandatory on both calls since April 2023 (spec §1).
		return fmt.Errorf("%w: KeyID is empty", ErrConfig)
	}
	return nil
}

func (c *Client) baseURL() string {
	if strings.HasSuffix(c.BaseURL, "/") {
		return c.BaseURL
	}
	return c.BaseURL + "/"
}

// shopNo fills an empty request ShopNo and refuses a different one.
func (c *Client) shopNo(reqShopNo string) (string, error) {
	switch reqShopNo {
	case "", c.ShopNo:
		return c.ShopNo, nil
	}
	return "", invalid("ShopNo %q differs from the client's", reqShopNo)
}
