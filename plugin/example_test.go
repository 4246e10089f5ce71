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
	cfg.OnSideEffect = func(ctx context.Context, e checkout.SideEffect) error {
		log.Printf("%s: order %s (%s)", e.Topic, e.OrderNo, e.Reference) // mail the shopper, start the work...
		return nil                                                       // an error retries with back-off; deduplicate by e.JobID
	}
	twpay, err := plugin.New(cfg)
	if err != nil {
		log.Fatal(err)
	}

	router := gin.New()
	twpay.Mount(router) // or router.Group("/store"): links and callback URLs follow the prefix
	go twpay.Run(ctx)   // River: side effects to the hook, reconciliation with the gateways
	log.Fatal(router.Run(":8080"))
}
