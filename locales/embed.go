// Package locales holds every word the interface shows, as go-i18n message
// files (zh-TW is the default language, en the second), embedded so a host
// app needs nothing on disk.
package locales

import (
	"embed"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed *.toml
var files embed.FS

// Default is the language used when nothing else matches.
var Default = language.MustParse("zh-TW")

// Supported lists the languages with a message file, default first.
var Supported = []language.Tag{Default, language.English}

// LanguageOf is the language of a message file named <part>.<language>.toml
// (active.zh-TW.toml, admin.en.toml): each part of the interface may keep
// its words in a file of its own, one per language.
func LanguageOf(name string) string {
	name = strings.TrimSuffix(name, ".toml")
	return name[strings.LastIndexByte(name, '.')+1:]
}

// Files lists the embedded message files, for tests.
func Files() []string {
	entries, _ := files.ReadDir(".")
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// Bundle loads every embedded message file.
func Bundle() (*i18n.Bundle, error) {
	b := i18n.NewBundle(Default)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, name := range Files() {
		if _, err := b.LoadMessageFileFS(files, name); err != nil {
			return nil, err
		}
	}
	return b, nil
}
