package plugin_test

import (
	"context"
	"log"
	"os"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/database"
)

// A host Gin app embeds twpay: open and migrate the database, configure
// the plugin from the environment, mount it. The shop is then at /shop and
// the gateway callbacks at /payments.
func Example() {
	ctx := context.Background()
	db, err := database.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := database.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}

	cfg, err := plugin.FromEnv(os.Getenv) // TWPAY_BASE_URL, TWPAY_SESSION_SECRET, TWPAY_ECPAY_* ...
	if err != nil {
		log.Fatal(err)
	}
	cfg.DB = db
	cfg.OnOutbox = func(ctx context.Context, m *checkout.OutboxMessage) error {
		log.Printf("%s: order %v", m.Topic, m.Payload["order_no"]) // mail the shopper, start the work...
		return nil
	}
	twpay, err := plugin.New(cfg)
	if err != nil {
		log.Fatal(err)
	}

	router := gin.New()
	twpay.Mount(router) // or router.Group("/store"): links and callback URLs follow the prefix
	go twpay.Run(ctx)   // reconciliation with the gateways, outbox delivery
	log.Fatal(router.Run(":8080"))
}
