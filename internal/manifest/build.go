package manifest

import (
	"slices"
	"sort"
	"strings"

	"github.com/leaf-import/leaf-import/internal/csvcell"
	"github.com/leaf-import/leaf-import/internal/leaf"
)

// rawField is one credential or app value as written, with where it was written.
type rawField struct {
	name  string
	value string
	loc   Loc
	// list holds the items of a YAML sequence (app scopes); value is then "".
	list []string
}

// builder turns what the readers found into a Manifest, checking every value against the
// provider table and collecting every problem. Both readers feed it, so YAML and CSV
// manifests are held to the same rules.
type builder struct {
	// partial: a --failed-rows file (Manifest.Partial).
	partial bool
	// opts are the reading options (raw references, a filter on growers).
	opts     ReadOptions
	problems collector
	defaults map[*leaf.Provider]leaf.Fields
	// seen maps an externalId to where it was first defined.
	seen         map[string]Loc
	growers      []*Grower
	apps         []*App
	appSeen      map[string]Loc
	literalFiles map[string]bool
	// configDefaults is defaults.config: the flags every grower gets.
	configDefaults leaf.Config
}

func newBuilder() *builder {
	return &builder{
		defaults: map[*leaf.Provider]leaf.Fields{}, seen: map[string]Loc{},
		appSeen: map[string]Loc{}, literalFiles: map[string]bool{},
	}
}

// provider looks a provider name up, reporting an unknown one.
func (b *builder) provider(name string, loc Loc, field string) *leaf.Provider {
	p, ok := leaf.LookupProvider(name)
	if !ok {
		hint := ""
		if near := nearest(name, providerNames()); near != "" {
			hint = " (did you mean " + near + "?)"
		}
		b.problems.add(loc, field, "unknown provider %q%s (see `leaf-import providers`)", name, hint)
		return nil
	}
	return p
}

// providerNames are the canonical names of the provider table.
func providerNames() []string {
	var names []string
	for _, p := range leaf.Providers() {
		names = append(names, p.Name)
	}
	return names
}

// noList: no credential field takes a list.
func noList(string) bool { return false }

// fields resolves raw credential values of provider p: unknown fields, unresolvable
// references and literal secrets are noted. Empty values are absent.
func (b *builder) fields(p *leaf.Provider, raws []rawField, res *resolver, prefix string, accepts, secret, isList func(string) bool) (_ leaf.Fields, failed []string) {
	out := make([]leaf.Field, 0, len(raws)+len(b.defaults[p]))
	for _, r := range raws {
		field := prefix + r.name
		if !accepts(r.name) {
			b.problems.add(r.loc, field, "%s is not a %s field (expected one of: %s)", r.name, p.Name, strings.Join(acceptedNames(p, accepts), ", "))
			continue
		}
		if r.list != nil {
			if !isList(r.name) {
				b.problems.add(r.loc, field, "%s must be a single value, not a list", r.name)
				failed = append(failed, r.name)
				continue
			}
			if msg := textProblem(strings.Join(r.list, ","), maxCredential); msg != "" {
				b.problems.add(r.loc, field, "%s %s", r.name, msg)
				failed = append(failed, r.name)
				continue
			}
			out = append(out, leaf.Field{Name: r.name, Value: leaf.Secret(strings.Join(r.list, ","))})
			continue
		}
		if r.value == "" {
			continue
		}
		if msg := textProblem(r.value, maxCredential); msg != "" {
			b.problems.add(r.loc, field, "%s %s", r.name, msg)
			failed = append(failed, r.name)
			continue
		}
		v, literal, err := res.resolve(r.value)
		if err != nil {
			b.problems.add(r.loc, field, "%v", err)
			failed = append(failed, r.name)
			continue
		}
		if len(v.Reveal()) > maxCredential {
			b.problems.add(r.loc, field, "%s resolves to more than %d bytes (the limit for a credential value)", r.name, maxCredential)
			failed = append(failed, r.name)
			continue
		}
		if literal && secret(r.name) {
			b.literalFiles[r.loc.File] = true
		}
		if v == "" {
			continue
		}
		out = append(out, leaf.Field{Name: r.name, Value: v})
	}
	return leaf.SortFields(out), failed
}

func acceptedNames(p *leaf.Provider, accepts func(string) bool) []string {
	var names []string
	candidates := p.CreateFields()
	if p.AppKey != nil {
		candidates = append(candidates, p.AppKey.Fields()...)
		for _, alt := range p.AppKey.UpdateAlternatives {
			candidates = append(candidates, alt...)
		}
	}
	for _, f := range candidates {
		if accepts(f) && !slices.Contains(names, f) {
			names = append(names, f)
		}
	}
	return names
}

// setDefaults records the defaults of provider p.
func (b *builder) setDefaults(p *leaf.Provider, raws []rawField, res *resolver, prefix string, loc Loc) {
	if _, dup := b.defaults[p]; dup {
		b.problems.add(loc, prefix, "defaults for %s are given twice", p.Name)
		return
	}
	fs, _ := b.fields(p, raws, res, prefix, p.Accepts, p.IsSecret, noList)
	b.checkEnvironment(&fs, envLoc(raws, loc), prefix)
	b.defaults[p] = fs
}

func envLoc(raws []rawField, fallback Loc) Loc {
	for _, r := range raws {
		if r.name == leaf.FieldClientEnvironment {
			return r.loc
		}
	}
	return fallback
}

// checkEnvironment normalises clientEnvironment to upper case and checks its value (a missing
// one is a missing required field where the provider needs it).
func (b *builder) checkEnvironment(fs *leaf.Fields, loc Loc, prefix string) {
	v, ok := fs.Get(leaf.FieldClientEnvironment)
	if !ok || v.IsKept() {
		return
	}
	up := strings.ToUpper(strings.TrimSpace(v.Reveal()))
	if !leaf.ValidEnvironment(up) {
		b.problems.add(loc, prefix+leaf.FieldClientEnvironment, "clientEnvironment must be STAGE or PRODUCTION")
		return
	}
	if up != v.Reveal() {
		fs.Set(leaf.FieldClientEnvironment, leaf.Secret(up))
	}
}

// connection builds a grower's connection to p from raw values and the provider's defaults
// (checked where they were written). A field whose reference failed is not also reported
// missing.
func (b *builder) connection(p *leaf.Provider, raws []rawField, res *resolver, prefix string, loc Loc) *Connection {
	fs, failed := b.fields(p, raws, res, prefix, p.Accepts, p.IsSecret, noList)
	b.checkEnvironment(&fs, envLoc(raws, loc), prefix)
	if defs := b.defaults[p]; len(defs) > 0 {
		n := len(fs)
		for _, d := range defs {
			if !fs[:n].Has(d.Name) {
				fs = append(fs, d)
			}
		}
		fs = leaf.SortFields(fs)
	}
	var missing []string
	for _, f := range p.Required {
		if !fs.Has(f) && !slices.Contains(failed, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		b.problems.add(loc, strings.TrimSuffix(prefix, "."), "missing required %s field(s): %s", p.Name, strings.Join(missing, ", "))
	}
	return &Connection{Provider: p, Fields: fs, Loc: loc}
}

// checkGrower checks a grower's own fields and its externalId's uniqueness; it reports whether
// the grower may be kept. last marks growers of the last source read (the CSV): their ids are
// only checked against the earlier sources, not recorded.
func (b *builder) checkGrower(g *Grower, extLoc, emailLoc Loc, prefix string, last bool) bool {
	if strings.TrimSpace(g.ExternalID) == "" {
		b.problems.add(extLoc, prefix+"externalId", "externalId is required")
		return false
	}
	if !b.checkGrowerText(g, extLoc, emailLoc, prefix) {
		return false
	}
	if csvcell.ScientificNumber(g.ExternalID) {
		b.problems.add(extLoc, prefix+"externalId", "externalId %s looks like a number a spreadsheet rewrote in scientific notation: "+
			"the real id is lost; format the column as text in the spreadsheet and take the ids from their source again", quoted(g.ExternalID))
		return false
	}
	if csvcell.ScientificNumber(g.Phone) {
		b.problems.add(g.Loc, prefix+"phone", "phone %s looks like a number a spreadsheet rewrote in scientific notation: "+
			"the real number is lost; format the column as text and take the phones from their source again", quoted(g.Phone))
	}
	if g.Email != "" && !validEmail(g.Email) {
		b.problems.add(emailLoc, prefix+"email", "%s is not a valid email address", quoted(g.Email))
	}
	if len(b.seen) > 0 {
		if first, dup := b.seen[g.ExternalID]; dup {
			b.problems.add(extLoc, prefix+"externalId", "duplicate externalId %q (first defined at %s)", g.ExternalID, first)
			return false
		}
	}
	if !last {
		b.seen[g.ExternalID] = g.Loc
	}
	return true
}

// validEmail accepts a bare address, local@domain, the way most systems of record write them:
// no display name, no spaces, a dotted domain of letters, digits and hyphens.
func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(s) > 254 || strings.ContainsAny(local, " \t<>()[],;:\"@\\") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r > 127) {
				return false
			}
		}
	}
	return true
}

// addApp checks and records an app registration.
func (b *builder) addApp(p *leaf.Provider, appName, env string, raws []rawField, res *resolver, prefix string, loc, envLocation Loc) {
	if p.AppKey == nil {
		b.problems.add(loc, prefix+"provider", "%s has no Leaf Link app keys", p.Name)
		return
	}
	if appName == "" {
		b.problems.add(loc, prefix+"appName", "appName is required")
	} else if msg := textProblem(appName, maxAppName); msg != "" {
		b.problems.add(loc, prefix+"appName", "appName %s", msg)
		return
	}
	env = strings.ToUpper(strings.TrimSpace(env))
	switch {
	case p.AppKey.WithEnvironment && env == "":
		b.problems.add(loc, prefix+leaf.FieldClientEnvironment, "%s apps need a clientEnvironment (STAGE or PRODUCTION)", p.Name)
	case env != "" && !leaf.ValidEnvironment(env):
		b.problems.add(envLocation, prefix+leaf.FieldClientEnvironment, "clientEnvironment must be STAGE or PRODUCTION")
	case !p.AppKey.WithEnvironment && env != "" && env != leaf.EnvProduction:
		b.problems.add(envLocation, prefix+leaf.FieldClientEnvironment, "%s apps have no environment (Leaf shows them as PRODUCTION)", p.Name)
	}
	if !p.AppKey.WithEnvironment {
		env = ""
	}
	accepts := func(f string) bool {
		if slices.Contains(p.AppKey.Fields(), f) {
			return true
		}
		for _, alt := range p.AppKey.UpdateAlternatives {
			if slices.Contains(alt, f) {
				return true
			}
		}
		return false
	}
	for _, r := range raws {
		if r.list == nil && p.AppKey.IsList(r.name) && r.value != "" && r.value != KeepMarker {
			b.problems.add(r.loc, prefix+r.name, "%s must be a list of strings", r.name)
		}
	}
	fs, failed := b.fields(p, raws, res, prefix, accepts, p.AppKey.IsSecret, p.AppKey.IsList)
	var missing []string
	for _, f := range p.AppKey.Required {
		if !fs.Has(f) && !slices.Contains(failed, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		b.problems.add(loc, strings.TrimSuffix(prefix, "."), "missing required %s app field(s): %s", p.Name, strings.Join(missing, ", "))
	}
	a := &App{Provider: p, AppName: appName, Environment: env, Fields: fs, Loc: loc}
	if first, dup := b.appSeen[a.Key()]; dup && appName != "" {
		b.problems.add(loc, prefix+"appName", "duplicate app %s (first defined at %s)", a.Key(), first)
		return
	}
	b.appSeen[a.Key()] = loc
	b.apps = append(b.apps, a)
}

// readConfig checks config flags as written: known flags only, each a single value of its
// type. References are refused: config is not secret.
func (b *builder) readConfig(raws []rawField, prefix string) leaf.Config {
	var out leaf.Config
	for _, r := range raws {
		field := prefix + r.name
		f, ok := leaf.LookupConfigFlag(r.name)
		if !ok {
			hint := ""
			if near := nearest(r.name, leaf.ConfigFlagNames()); near != "" {
				hint = " (did you mean " + near + "?)"
			}
			b.problems.add(r.loc, field, "unknown config flag %s%s; `leaf-import providers --config` lists the flags", quoted(r.name), hint)
			continue
		}
		if r.list != nil {
			b.problems.add(r.loc, field, "%s must be a single value, not a list", r.name)
			continue
		}
		v, plain := plainValue(r.value)
		if !plain {
			b.problems.add(r.loc, field, "config values are not secrets: write the value itself, not a reference")
			continue
		}
		if v == "" {
			continue
		}
		canon, err := f.Parse(v)
		if err != nil {
			b.problems.add(r.loc, field, "%v, not %s", err, quoted(v))
			continue
		}
		if _, dup := out.Get(f.Name); dup {
			b.problems.add(r.loc, field, "%s is set twice", f.Name)
			continue
		}
		out = out.With(f.Name, canon)
	}
	return out
}

// growerConfig is a grower's config: its own flags over the manifest's defaults.
func (b *builder) growerConfig(own leaf.Config) leaf.Config {
	if len(own) == 0 {
		return b.configDefaults
	}
	out := own
	for _, d := range b.configDefaults {
		if _, set := own.Get(d.Name); !set {
			out = out.With(d.Name, d.Value)
		}
	}
	return out
}

// manifest finishes the build: growers and apps in a stable order, problems sorted.
func (b *builder) manifest(digest string) (*Manifest, Problems) {
	m := &Manifest{Growers: b.growers, Apps: b.apps, Digest: digest, Partial: b.partial}
	for f := range b.literalFiles {
		m.LiteralSecretFiles = append(m.LiteralSecretFiles, f)
	}
	sort.Strings(m.LiteralSecretFiles)
	for _, g := range m.Growers {
		sort.Slice(g.Connections, func(i, j int) bool { return g.Connections[i].Provider.Name < g.Connections[j].Provider.Name })
	}
	return m, b.problems.sorted()
}

// kept says whether a sound grower is kept in the manifest (ReadOptions.Only).
func (b *builder) kept(g *Grower) bool { return b.opts.Only == nil || b.opts.Only(g.ExternalID) }
