package plan

import (
	"fmt"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"slices"
	"sort"
	"strings"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// Selection narrows a run to some growers, providers and kinds (--only, --only-file,
// --provider, --kind). The zero Selection selects everything.
//
// A change is selected when its grower, provider and kind are. Like Terraform's -target, a
// selected change brings what it depends on: a credential of a grower whose user the plan
// creates brings that user's create and its config (set before the credential). Nothing outside
// the selection is changed, deleted or counted: --prune deletes only selected objects.
type Selection struct {
	// Only holds the selected externalIds; nil selects every grower. Apps have no externalId:
	// with Only they are outside the selection.
	Only map[string]bool
	// Providers holds the selected providers; nil selects every provider.
	Providers map[*leaf.Provider]bool
	// Kinds holds the selected kinds; nil selects every kind, except that a selection of
	// providers alone selects their credentials and apps (users and configs have no provider).
	Kinds map[Kind]bool
}

// Empty reports whether s selects everything.
func (s Selection) Empty() bool { return s.Only == nil && s.Providers == nil && s.Kinds == nil }

// Grower reports whether a grower's externalId is selected.
func (s Selection) Grower(ext string) bool { return s.Only == nil || s.Only[ext] }

// Kind reports whether kind k is selected.
func (s Selection) Kind(k Kind) bool {
	switch {
	case s.Kinds != nil:
		return s.Kinds[k]
	case s.Providers != nil:
		return k == KindCredential || k == KindApp
	}
	return true
}

// Provider reports whether a provider (by canonical name) is selected.
func (s Selection) Provider(name string) bool {
	if s.Providers == nil {
		return true
	}
	p, ok := leaf.LookupProvider(name)
	return ok && s.Providers[p]
}

// App reports whether an app of provider p is selected.
func (s Selection) App(p *leaf.Provider) bool {
	return s.Only == nil && s.Kind(KindApp) && (s.Providers == nil || s.Providers[p])
}

// Change reports whether c is selected by itself (without what it depends on).
func (s Selection) Change(c *Change) bool {
	if !s.Kind(c.Kind) {
		return false
	}
	if c.Kind == KindApp {
		return s.Only == nil && s.Provider(c.Provider)
	}
	if !s.Grower(c.ExternalID) {
		return false
	}
	return c.Kind != KindCredential || s.Provider(c.Provider)
}

// Manifest returns m narrowed to the selected growers and apps (m is not modified).
func (s Selection) Manifest(m *manifest.Manifest) *manifest.Manifest {
	if s.Empty() {
		return m
	}
	out := *m
	out.Growers, out.Apps = nil, nil
	for _, g := range m.Growers {
		if s.Grower(g.ExternalID) {
			out.Growers = append(out.Growers, g)
		}
	}
	for _, a := range m.Apps {
		if s.App(a.Provider) {
			out.Apps = append(out.Apps, a)
		}
	}
	return &out
}

// group narrows one grower's changes to the selection, keeping what the selected ones need.
func (s Selection) group(changes []*Change) []*Change {
	keep := make([]bool, len(changes))
	any := false
	for i, c := range changes {
		keep[i] = s.Change(c)
		any = any || keep[i]
	}
	if !any {
		return nil
	}
	needsUser, needsConfig := false, false
	for i, c := range changes {
		if keep[i] && c.LeafUserID == "" && c.Kind != KindUser {
			needsUser = true // the plan creates the grower's user
			needsConfig = needsConfig || c.Kind == KindCredential
		}
	}
	out := changes[:0:0]
	for i, c := range changes {
		dep := c.Action == ActionCreate && (c.Kind == KindUser && needsUser || c.Kind == KindConfig && needsConfig)
		if keep[i] || dep {
			out = append(out, c)
		}
	}
	return out
}

// SelectionView is the JSON form of a selection, as a saved plan records it.
type SelectionView struct {
	Only      []string `json:"only,omitempty"`
	Providers []string `json:"providers,omitempty"`
	Kinds     []string `json:"kinds,omitempty"`
}

// View returns the JSON form (nil for the empty selection), its lists sorted.
func (s Selection) View() *SelectionView {
	if s.Empty() {
		return nil
	}
	v := &SelectionView{}
	for id := range s.Only {
		v.Only = append(v.Only, id)
	}
	for p := range s.Providers {
		v.Providers = append(v.Providers, p.Name)
	}
	for k := range s.Kinds {
		v.Kinds = append(v.Kinds, string(k))
	}
	if s.Only != nil && v.Only == nil {
		v.Only = []string{}
	}
	sort.Strings(v.Only)
	sort.Strings(v.Providers)
	sort.Strings(v.Kinds)
	return v
}

// Equal reports whether two selections select the same.
func (s Selection) Equal(o Selection) bool {
	a, b := s.View(), o.View()
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return slices.Equal(a.Only, b.Only) && (a.Only == nil) == (b.Only == nil) &&
		slices.Equal(a.Providers, b.Providers) && slices.Equal(a.Kinds, b.Kinds)
}

// String describes the selection for people ("" for the empty one).
func (s Selection) String() string {
	v := s.View()
	if v == nil {
		return ""
	}
	var parts []string
	if v.Only != nil {
		parts = append(parts, fmt.Sprintf("%d grower(s)", len(v.Only)))
	}
	if v.Providers != nil {
		parts = append(parts, "providers "+strings.Join(v.Providers, ","))
	}
	if v.Kinds != nil {
		parts = append(parts, "kinds "+strings.Join(v.Kinds, ","))
	}
	return strings.Join(parts, "; ")
}

// ParseKinds reads --kind values.
func ParseKinds(names []string) (map[Kind]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := map[Kind]bool{}
	for _, n := range names {
		k := Kind(strings.ToLower(strings.TrimSpace(n)))
		switch k {
		case KindUser, KindCredential, KindApp, KindConfig:
			out[k] = true
		default:
			return nil, fmt.Errorf("unknown kind %q (expected user, credential, app or config)", n)
		}
	}
	return out, nil
}

// ParseProviders reads --provider values (any spelling the provider table knows).
func ParseProviders(names []string) (map[*leaf.Provider]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := map[*leaf.Provider]bool{}
	for _, n := range names {
		p, ok := leaf.LookupProvider(strings.TrimSpace(n))
		if !ok {
			return nil, fmt.Errorf("unknown provider %q (see `leaf-import providers`)", n)
		}
		out[p] = true
	}
	return out, nil
}

// SelectionFromView reads a saved plan's selection.
func SelectionFromView(v *SelectionView) (Selection, error) {
	var s Selection
	if v == nil {
		return s, nil
	}
	if v.Only != nil {
		s.Only = make(map[string]bool, len(v.Only))
		for _, id := range v.Only {
			s.Only[id] = true
		}
	}
	var err error
	if s.Providers, err = ParseProviders(v.Providers); err != nil {
		return s, err
	}
	s.Kinds, err = ParseKinds(v.Kinds)
	return s, err
}

// NarrowsProviders reports whether only some providers are selected (manifest.Scope).
func (s Selection) NarrowsProviders() bool { return s.Providers != nil }
