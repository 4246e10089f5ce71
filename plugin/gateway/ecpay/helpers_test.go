package ecpay

import (
	"fmt"
	"strings"

	"github.com/twpay/twpay/plugin/gateway"
)

func secret(s string) gateway.Secret { return gateway.Secret(s) }
func lower(s string) string          { return strings.ToLower(s) }

func fmtV(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }
