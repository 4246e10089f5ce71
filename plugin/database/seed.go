package database

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
)

type demoService struct {
	slug                   string
	title, desc            checkout.LocalText
	standard, premium      int64 // integer TWD
	standardDays, premDays int
}

// The demo shop sells design services; amounts stay inside every gateway's
// individual-member limits (ECPay credit 5-199,999 TWD).
var demoCatalog = []demoService{
	{"logo-design",
		checkout.LocalText{"zh-TW": "品牌標誌設計", "en": "Logo design"},
		checkout.LocalText{"zh-TW": "為您的品牌設計專屬標誌，含三次修改。", "en": "A logo for your brand, with three rounds of changes."},
		3000, 8000, 7, 5},
	{"website-audit",
		checkout.LocalText{"zh-TW": "網站健檢", "en": "Website audit"},
		checkout.LocalText{"zh-TW": "速度、無障礙與搜尋引擎最佳化的完整報告。", "en": "A full report on speed, accessibility and SEO."},
		1500, 4500, 5, 3},
	{"product-photos",
		checkout.LocalText{"zh-TW": "商品攝影", "en": "Product photography"},
		checkout.LocalText{"zh-TW": "十張去背商品照，適用於電商平台。", "en": "Ten cut-out product photos, ready for online shops."},
		2400, 6800, 10, 7},
}

var tierTitles = map[checkout.Tier]checkout.LocalText{
	checkout.Standard: {"zh-TW": "標準方案", "en": "Standard"},
	checkout.Premium:  {"zh-TW": "進階方案", "en": "Premium"},
}

var tierDescs = map[checkout.Tier]checkout.LocalText{
	checkout.Standard: {"zh-TW": "基本內容，標準交期。", "en": "The essentials, standard delivery."},
	checkout.Premium:  {"zh-TW": "完整內容、優先處理與額外修改。", "en": "Everything, priority handling and extra revisions."},
}

// SeedDemo inserts the demo catalog once; running it again changes nothing.
func SeedDemo(ctx context.Context, db *bun.DB) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for i, d := range demoCatalog {
			svc := &checkout.Service{Slug: d.slug, Title: d.title, Description: d.desc, Position: i, Active: true}
			if _, err := tx.NewInsert().Model(svc).On("CONFLICT (slug) DO NOTHING").Returning("id").Exec(ctx); err != nil {
				return err
			}
			if svc.ID == 0 {
				continue // already seeded
			}
			plans := []*checkout.Plan{
				{ServiceID: svc.ID, Tier: checkout.Standard, Title: tierTitles[checkout.Standard], Description: tierDescs[checkout.Standard], Price: d.standard, DeliveryDays: d.standardDays, Active: true},
				{ServiceID: svc.ID, Tier: checkout.Premium, Title: tierTitles[checkout.Premium], Description: tierDescs[checkout.Premium], Price: d.premium, DeliveryDays: d.premDays, Active: true},
			}
			if _, err := tx.NewInsert().Model(&plans).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}
