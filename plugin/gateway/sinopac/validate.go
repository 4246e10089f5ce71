package sinopac

import (
	"strings"
	"unicode/utf8"
)

// field describes one string the bank length-checks. Limits are treated as
// UTF-8 bytes: PrdtName behaves that way (spec §5); for the rest it is the
// safe reading.
type field struct {
	name, value string
	max         int
	required    bool
	noQuotes    bool // ' " % are refused by the bank's models for these
}

func checkFields(fs ...field) error {
	for _, f := range fs {
		switch {
		case f.value == "":
			if f.required {
				return invalid("%s is required", f.name)
			}
		case !utf8.ValidString(f.value):
			return invalid("%s is not valid UTF-8", f.name)
		case strings.TrimSpace(f.value) != f.value:
			// The sign would include the spaces; the bank wants them gone.
			return invalid("%s has leading or trailing whitespace", f.name)
		case len(f.value) > f.max:
			return invalid("%s is longer than %d bytes", f.name, f.max)
		case f.noQuotes && strings.ContainsAny(f.value, `'"%`):
			return invalid("%s contains ' \" or %%", f.name)
		}
	}
	return nil
}

func checkDateTime(name, v string) error {
	if v == "" {
		return nil
	}
	if _, err := ParseDateTime(v); err != nil {
		return invalid("%s must be yyyyMMddHHmm", name)
	}
	return nil
}

func trim(ps ...*string) {
	for _, p := range ps {
		*p = strings.TrimSpace(*p)
	}
}
