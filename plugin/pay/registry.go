package pay

import (
	"fmt"
	"regexp"
)

// Registry holds the enabled adapters. Only registered gateways mount
// routes, offer methods and are reconciled.
type Registry struct {
	adapters []Adapter
	byName   map[string]Adapter
	methods  Methods
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,31}$`)

// NewRegistry prepares every adapter for mode and indexes them. Names and
// method IDs must be unique.
func NewRegistry(mode Mode, adapters ...Adapter) (*Registry, error) {
	r := &Registry{byName: map[string]Adapter{}}
	seen := map[string]bool{}
	for _, a := range adapters {
		name := a.Name()
		if !namePattern.MatchString(name) {
			return nil, fmt.Errorf("twpay: gateway name %q: want lower-case letters and digits", name)
		}
		if r.byName[name] != nil {
			return nil, fmt.Errorf("twpay: gateway %q registered twice", name)
		}
		if err := a.Prepare(mode); err != nil {
			return nil, err
		}
		for _, m := range a.Methods() {
			if seen[m.ID()] {
				return nil, fmt.Errorf("twpay: payment method %q offered twice", m.ID())
			}
			seen[m.ID()] = true
			r.methods = append(r.methods, m)
		}
		r.byName[name] = a
		r.adapters = append(r.adapters, a)
	}
	return r, nil
}

// Adapters lists the registered adapters in registration order.
func (r *Registry) Adapters() []Adapter { return r.adapters }

// Adapter finds an adapter by gateway name.
func (r *Registry) Adapter(name string) (Adapter, bool) {
	a, ok := r.byName[name]
	return a, ok
}

// Methods lists every offered method, in registration order.
func (r *Registry) Methods() Methods { return r.methods }

// Names lists the registered gateways' names.
func (r *Registry) Names() []string {
	out := make([]string, len(r.adapters))
	for i, a := range r.adapters {
		out[i] = a.Name()
	}
	return out
}
