package checkout

import (
	"context"
	"database/sql"
	"errors"
)

// OrderForTrade loads the order one of whose attempts has that gateway
// trade number (what a gateway's own pages show), or ErrOrderNotFound.
func (s *Store) OrderForTrade(ctx context.Context, gateway, merchantTradeNo string) (*Order, error) {
	o := new(Order)
	err := s.db.NewSelect().Model(o).
		Where("id = (SELECT order_id FROM payment_attempts WHERE gateway = ? AND merchant_trade_no = ?)", gateway, merchantTradeNo).
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrOrderNotFound
	}
	return o, err
}
