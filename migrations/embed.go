// Package migrations holds the schema as embedded SQL files for bun/migrate,
// so a host app needs nothing on disk.
package migrations

import (
	"embed"

	"github.com/uptrace/bun/migrate"
)

//go:embed *.sql
var sqlFiles embed.FS

// Migrations lists every embedded migration, for bun's migrator.
func Migrations() (*migrate.Migrations, error) {
	m := migrate.NewMigrations()
	if err := m.Discover(sqlFiles); err != nil {
		return nil, err
	}
	return m, nil
}
