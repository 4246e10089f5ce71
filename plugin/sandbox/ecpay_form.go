package sandbox

import (
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// readECPayForm reads a posted form the way the gateway does: bounded,
// every field single-valued. ECPay's server reads both encodings: its own
// PHP SDK posts QueryTradeInfo as multipart/form-data (ecpay.md §1.1), so
// the sandbox takes multipart on every route too (text fields only).
func readECPayForm(c *gin.Context) (map[string]string, error) {
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type")) // gin's ContentType drops the boundary
	body := http.MaxBytesReader(c.Writer, c.Request.Body, ecpayMaxForm)
	switch {
	case err == nil && mt == "application/x-www-form-urlencoded":
		raw, err := io.ReadAll(body)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ecpay.ErrMalformed, err)
		}
		return ecpay.ParseForm(raw)
	case err == nil && mt == "multipart/form-data" && params["boundary"] != "":
		return readMultipart(multipart.NewReader(body, params["boundary"]))
	}
	return nil, fmt.Errorf("%w: content type must be application/x-www-form-urlencoded or multipart/form-data", ecpay.ErrMalformed)
}

func readMultipart(r *multipart.Reader) (map[string]string, error) {
	out := map[string]string{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ecpay.ErrMalformed, err)
		}
		name := p.FormName()
		if name == "" || p.FileName() != "" {
			return nil, fmt.Errorf("%w: multipart part %q is not a text field", ecpay.ErrMalformed, name)
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ecpay.ErrMalformed, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: %s", ecpay.ErrDuplicateField, name)
		}
		out[name] = string(v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty body", ecpay.ErrMalformed)
	}
	return out, nil
}
