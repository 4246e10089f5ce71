package pay

import (
	"fmt"
	"net/url"
	"strings"
)

// Mode says which money is real. It is always explicit: twpay assumes no
// credentials and no endpoints that the mode does not allow.
type Mode string

const (
	// Sandbox: the local sandboxes and public test credentials (make run).
	Sandbox Mode = "sandbox"
	// Stage: the gateways' own test hosts with their published test credentials.
	Stage Mode = "stage"
	// Production: real money. Refuses published test keys, stage and
	// sandbox endpoints, and any enabled gateway without credentials.
	Production Mode = "production"
)

// ParseMode reads TWPAY_MODE.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.TrimSpace(s)); m {
	case Sandbox, Stage, Production:
		return m, nil
	case "":
		return "", fmt.Errorf("twpay: TWPAY_MODE (Config.Mode) is required: sandbox, stage or production")
	default:
		return "", fmt.Errorf("twpay: TWPAY_MODE=%q: want sandbox, stage or production", s)
	}
}

// Endpoint is one gateway URL setting with the hosts each mode allows.
type Endpoint struct {
	Setting    string // how the operator sets it, for errors: "TWPAY_ECPAY_CHECKOUT_URL"
	Stage      string // the gateway's test endpoint (the stage default)
	Production string // the gateway's production endpoint (the production default)
	// Other hosts the gateway is known to serve in each environment, so a
	// sandbox URL can never point at them.
	StageHosts, ProductionHosts []string
}

// Resolve checks *u against mode and fills the mode's default: production
// accepts only the gateway's production hosts over https, stage only its
// stage hosts, sandbox only hosts that are neither (the local sandbox),
// and sandbox has no default.
func (e Endpoint) Resolve(mode Mode, u *string) error {
	if *u == "" {
		switch mode {
		case Production:
			*u = e.Production
		case Stage:
			*u = e.Stage
		default:
			return fmt.Errorf("twpay: %s: %s is required in sandbox mode (the local sandbox's URL)", mode, e.Setting)
		}
	}
	p, err := url.Parse(*u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("twpay: %s=%q is not an absolute http(s) URL", e.Setting, *u)
	}
	host := strings.ToLower(p.Hostname())
	prod := hostIn(host, e.ProductionHosts, e.Production)
	stage := hostIn(host, e.StageHosts, e.Stage)
	switch {
	case mode == Production && (!prod || p.Scheme != "https"):
		return fmt.Errorf("twpay: production: %s=%q is not the gateway's production endpoint (%s)", e.Setting, *u, e.Production)
	case mode == Stage && (!stage || p.Scheme != "https"):
		return fmt.Errorf("twpay: stage: %s=%q is not the gateway's test endpoint (%s)", e.Setting, *u, e.Stage)
	case mode == Sandbox && (prod || stage):
		return fmt.Errorf("twpay: sandbox: %s=%q is a real gateway host; sandbox mode talks only to the local sandbox", e.Setting, *u)
	}
	return nil
}

func hostIn(host string, hosts []string, endpoint string) bool {
	if p, err := url.Parse(endpoint); err == nil && strings.EqualFold(p.Hostname(), host) {
		return true
	}
	for _, h := range hosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}
