package pay

// Settings is what an adapter tells the back office's settings check
// about its configuration: nothing secret.
type Settings struct {
	// Merchants are the configured merchant IDs (never their keys); the
	// first starts new payments.
	Merchants []string
	// URLs are the URLs twpay hands the gateway with every payment.
	URLs []URLSetting
	// Endpoints are the gateway's URLs twpay calls (checkout, query).
	Endpoints []Link
	// Untested is a message ID naming what the self-test cannot cover for
	// this gateway (e.g. the bank's confirmation it would ask for), or "".
	Untested string
}

// URLSetting is one URL of ours that a payment hands the gateway.
type URLSetting struct {
	Field string // the protocol's name for it, e.g. "ReturnURL", "BackendURL"
	// Path is below the gateway's callback prefix (HandOff.CallbackURL +
	// "/" + Path); "" when twpay leaves the field empty.
	Path string
	// Server: the gateway's server posts to it (a lost post is a lost
	// payment notice); otherwise the shopper's browser is sent there.
	Server bool
	// Methods are the method IDs whose hand-off carries it (nil: all).
	Methods []string
}

// Link is a named URL.
type Link struct{ Name, URL string }

// Describer is an adapter that describes its settings (optional).
type Describer interface {
	Settings() Settings
}

// SelfTester is an adapter that can sign a test callback exactly as its
// gateway would (optional), for the settings self-test.
type SelfTester interface {
	// SelfTest returns a callback for the server callback at path (a
	// Callback.Path), from merchantID about tradeNo
	// (checkout.SelfTestPrefix and a nonce), signed with that merchant's
	// real key by the gateway package's own code, and claiming no money:
	// Process verifies it like any other post, then records it as a
	// self-test (checkout.SelfTest) and acknowledges it, changing nothing.
	SelfTest(path, merchantID, tradeNo string) (SelfTestPost, error)
}

// SelfTestPost is one signed test callback.
type SelfTestPost struct {
	ContentType string
	Body        []byte
}
