package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/csvcell"
	"github.com/leaf-import/leaf-import/internal/leaf"
)

// Scope narrows what export writes: the growers, kinds and providers of a selection
// (plan.Selection implements it).
type Scope interface {
	Grower(externalID string) bool
	Kind(k change.Kind) bool
	Provider(name string) bool
	App(p *leaf.Provider) bool
	// NarrowsProviders reports whether only some providers are selected.
	NarrowsProviders() bool
}

// ExportFormat is how export writes the growers.
type ExportFormat string

const (
	// ExportYAML writes the growers in manifest.yaml.
	ExportYAML ExportFormat = "yaml"
	// ExportCSV writes the growers in growers.csv, the rest in manifest.yaml.
	ExportCSV ExportFormat = "csv"
)

// ExportInput is the account as export read it.
type ExportInput struct {
	Users   []leaf.User
	AppKeys map[string][]leaf.AppKey
	// Configs are the users' own configurations, by user id (read for the exported users).
	Configs   map[string]leaf.UserConfig
	Selection Scope
	// WithSecrets writes the secrets Leaf returns into files under secrets/ (else every secret
	// field is kept).
	WithSecrets bool
	Format      ExportFormat
	// Origin names the account in the manifest's head ("https://api.withleaf.io, API owner x").
	Origin string
}

// Export is an account written as a manifest: the files by path relative to the output
// directory, and what could not be expressed.
type Export struct {
	Files map[string][]byte
	// Secret lists the files that hold a secret (written 0600).
	Secret []string
	// NotExported lists, one per line, what the manifest cannot express.
	NotExported []string
	Growers     int
	Connections int
	Apps        int
	Configs     int
}

// Export file names.
const (
	ExportManifest    = "manifest.yaml"
	ExportGrowersCSV  = "growers.csv"
	ExportNotExported = "not-exported.txt"
	ExportSecretsDir  = "secrets"
)

// exportedGrower is one grower as export writes it.
type exportedGrower struct {
	ext, name, email, phone, address string
	config                           leaf.Config
	conns                            []exportedConn
}

type exportedConn struct {
	provider *leaf.Provider
	fields   []exportedField // by name
}

type exportedField struct{ name, value string }

// BuildExport writes the account as a manifest. Output is deterministic: growers by
// externalId, connections by provider, fields and flags by name, apps by key, and no time in
// it, so that two exports of an unchanged account are byte-identical.
func BuildExport(in ExportInput) (*Export, error) {
	e := &Export{Files: map[string][]byte{}}
	sel := in.Selection
	byExt := map[string][]*leaf.User{}
	for i := range in.Users {
		u := &in.Users[i]
		switch {
		case IsProbe(u.ExternalID):
		case u.ExternalID == "":
			e.NotExported = append(e.NotExported, fmt.Sprintf("user %s (%s): it has no externalId, so a manifest cannot name it",
				safeText(u.ID, maxShown), quoted(u.Name)))
		case sel.Grower(u.ExternalID):
			byExt[u.ExternalID] = append(byExt[u.ExternalID], u)
		}
	}
	var growers []exportedGrower
	for _, ext := range slices.Sorted(maps.Keys(byExt)) {
		us := byExt[ext]
		if len(us) > 1 {
			ids := make([]string, len(us))
			for i, u := range us {
				ids[i] = safeText(u.ID, maxShown)
			}
			sort.Strings(ids)
			e.NotExported = append(e.NotExported, fmt.Sprintf("externalId %s: %d Leaf users carry it (%s); leaf-import skips it as a conflict until one is left",
				quoted(ext), len(us), strings.Join(ids, ", ")))
			continue
		}
		g, ok := e.grower(us[0], in)
		if ok {
			growers = append(growers, g)
		}
	}
	apps := e.apps(in)
	head := yamlPair("version", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(ManifestVersion)})
	if len(apps) > 0 {
		head = append(head, yamlPair("apps", &yaml.Node{Kind: yaml.SequenceNode, Content: apps})...)
	}
	if in.Format == ExportCSV {
		head = append(head, yamlPair("growersCsv", yamlStr(ExportGrowersCSV))...)
		csvData, err := growersCSV(growers, nil)
		if err != nil {
			return nil, err
		}
		e.Files[ExportGrowersCSV] = csvData
	} else {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, g := range growers {
			seq.Content = append(seq.Content, e.growerNode(g))
		}
		head = append(head, yamlPair("growers", seq)...)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Exported by leaf-import export from %s: %d grower(s), %d app(s).\n", safeText(in.Origin, 300), len(growers), e.Apps)
	b.WriteString("# \"${keep}\" keeps the value Leaf holds: it is never compared, and a change that would have to send\n" +
		"# it (a create, a replace, --update-apps, --replace-credentials) is refused until the value is supplied.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Content: head}}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	e.Files[ExportManifest] = b.Bytes()
	e.Growers = len(growers)
	sort.Strings(e.Secret)
	return e, nil
}

// grower builds a grower from its Leaf user; ok is false when the selection leaves nothing of
// it.
func (e *Export) grower(u *leaf.User, in ExportInput) (exportedGrower, bool) {
	sel := in.Selection
	g := exportedGrower{ext: u.ExternalID}
	for _, f := range []struct {
		name string
		v    string
		dst  *string
	}{{"name", u.Name, &g.name}, {"email", u.Email, &g.email}, {"phone", u.Phone, &g.phone}, {"address", u.Address, &g.address}} {
		if f.v == "" {
			continue
		}
		w, ok := writable(f.v)
		if !ok {
			e.NotExported = append(e.NotExported, fmt.Sprintf("externalId %s: its %s cannot be written as a manifest value (it starts like a reference); left unmanaged",
				quoted(u.ExternalID), f.name))
			continue
		}
		*f.dst = w
	}
	if sel.Kind(change.KindConfig) {
		if uc, ok := in.Configs[u.ID]; ok && uc.Exists && len(uc.Config) > 0 {
			g.config = uc.Config
			e.Configs++
		}
	}
	creds := slices.Clone(u.Credentials)
	sort.Slice(creds, func(i, j int) bool { return creds[i].Provider.Name < creds[j].Provider.Name })
	for _, cr := range creds {
		if !sel.Kind(change.KindCredential) || !sel.Provider(cr.Provider.Name) {
			continue
		}
		g.conns = append(g.conns, e.connection(u.ExternalID, cr, in.WithSecrets))
		e.Connections++
	}
	if sel.NarrowsProviders() && len(g.conns) == 0 {
		return g, false // --provider exports the growers that hold one of those providers
	}
	if !sel.Kind(change.KindUser) && len(g.conns) == 0 && len(g.config) == 0 {
		return g, false
	}
	return g, true
}

// connection writes a credential's create fields: plain fields in clear, secrets kept (or in a
// file with WithSecrets, when Leaf returns them), fields Leaf does not return kept when
// required and left out otherwise.
func (e *Export) connection(ext string, cr *leaf.Credential, withSecrets bool) exportedConn {
	p := cr.Provider
	c := exportedConn{provider: p}
	for _, f := range slices.Sorted(slices.Values(p.CreateFields())) {
		v, returned := cr.Fields.Get(f)
		switch {
		case !returned || v.IsZero():
			if p.IsRequired(f) {
				c.fields = append(c.fields, exportedField{f, KeepMarker})
			}
		case p.IsSecret(f) && withSecrets:
			path := secretPath(ext, p.Name, f)
			e.Files[path] = []byte(v.Reveal() + "\n")
			e.Secret = append(e.Secret, path)
			c.fields = append(c.fields, exportedField{f, "${file:" + path + "}"})
		case p.IsSecret(f):
			c.fields = append(c.fields, exportedField{f, KeepMarker})
		default:
			w, ok := writable(v.Reveal())
			if !ok {
				w = KeepMarker // never compared: the manifest keeps what Leaf holds
			}
			c.fields = append(c.fields, exportedField{f, w})
		}
	}
	return c
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// secretPath is where a grower's secret goes: secrets/g-<name>-<hash>/<Provider>.<field>. The
// name is the externalId made safe for any file system (an externalId is Leaf's data, and
// untrusted): no separator, no "..", bounded, with a hash that keeps distinct ids apart.
func secretPath(ext, provider, field string) string {
	name := unsafeName.ReplaceAllString(ext, "_")
	if len(name) > 48 {
		name = name[:48]
	}
	sum := sha256.Sum256([]byte(ext))
	return ExportSecretsDir + "/g-" + name + "-" + hex.EncodeToString(sum[:4]) + "/" + provider + "." + field
}

// writable returns how a plain value is written in a manifest so that it reads back as itself:
// as it is, or with the "$" that escapes a leading "${". ok is false when no spelling reads
// back as v.
func writable(v string) (string, bool) {
	for _, w := range []string{v, "$" + v} {
		if r := parseRef(w); r.kind == refLiteral && r.value == v {
			return w, true
		}
	}
	return "", false
}

// apps writes the app registrations: their secrets are never returned, so every required
// field is kept.
func (e *Export) apps(in ExportInput) []*yaml.Node {
	var out []*yaml.Node
	type app struct {
		p   *leaf.Provider
		key leaf.AppKey
	}
	var list []app
	for name, keys := range in.AppKeys {
		p, ok := leaf.LookupProvider(name)
		if !ok || p.AppKey == nil || !in.Selection.App(p) {
			continue
		}
		for _, k := range keys {
			list = append(list, app{p, k})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		return AppKeyOf(a.p, a.key.AppName, a.key.ClientEnvironment) < AppKeyOf(b.p, b.key.AppName, b.key.ClientEnvironment)
	})
	for _, a := range list {
		name, ok := writable(a.key.AppName)
		if !ok || a.key.AppName == "" {
			e.NotExported = append(e.NotExported, fmt.Sprintf("app %s/%s: its name cannot be written as a manifest value", a.p.Name, quoted(a.key.AppName)))
			continue
		}
		m := &yaml.Node{Kind: yaml.MappingNode}
		m.Content = append(m.Content, yamlPair("provider", yamlStr(a.p.Name))...)
		m.Content = append(m.Content, yamlPair("appName", yamlStr(name))...)
		if a.p.AppKey.WithEnvironment {
			m.Content = append(m.Content, yamlPair("clientEnvironment", yamlStr(a.key.ClientEnvironment))...)
		}
		for _, f := range slices.Sorted(slices.Values(a.p.AppKey.Required)) {
			m.Content = append(m.Content, yamlPair(f, yamlStr(KeepMarker))...)
		}
		out = append(out, m)
		e.Apps++
	}
	return out
}

func (e *Export) growerNode(g exportedGrower) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, yamlPair("externalId", yamlStr(g.ext))...)
	for _, f := range [][2]string{{"name", g.name}, {"email", g.email}, {"phone", g.phone}, {"address", g.address}} {
		if f[1] != "" {
			m.Content = append(m.Content, yamlPair(f[0], yamlStr(f[1]))...)
		}
	}
	if len(g.config) > 0 {
		cfg := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		for _, v := range g.config {
			cfg.Content = append(cfg.Content, yamlPair(v.Name, configScalar(v))...)
		}
		m.Content = append(m.Content, yamlPair("config", cfg)...)
	}
	if len(g.conns) > 0 {
		conns := &yaml.Node{Kind: yaml.MappingNode}
		for _, c := range g.conns {
			fm := &yaml.Node{Kind: yaml.MappingNode}
			for _, f := range c.fields {
				fm.Content = append(fm.Content, yamlPair(f.name, yamlStr(f.value))...)
			}
			conns.Content = append(conns.Content, yamlPair(c.provider.Name, fm)...)
		}
		m.Content = append(m.Content, yamlPair("connections", conns)...)
	}
	return m
}

// configScalar writes a flag's value with its YAML type: booleans and numbers plain.
func configScalar(v leaf.ConfigValue) *yaml.Node {
	f, _ := leaf.LookupConfigFlag(v.Name)
	if _, err := f.Parse(v.Value); err == nil {
		switch f.Type {
		case leaf.ConfigBool:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: v.Value}
		case leaf.ConfigNumber:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: v.Value}
		}
	}
	return yamlStr(v.Value)
}

func yamlStr(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func yamlPair(k string, v *yaml.Node) []*yaml.Node { return []*yaml.Node{yamlStr(k), v} }

// growersCSV writes the growers as CSV: one row per connection (a grower without one gets a
// row without provider), the grower's fields and config repeated on each of its rows. With note,
// a last column, FailedRowsColumn, holds note(externalId) on every row.
func growersCSV(growers []exportedGrower, note func(ext string) string) ([]byte, error) {
	var flags, fields []string
	for _, g := range growers {
		for _, v := range g.config {
			if !slices.Contains(flags, v.Name) {
				flags = append(flags, v.Name)
			}
		}
		for _, c := range g.conns {
			for _, f := range c.fields {
				if !slices.Contains(fields, f.name) {
					fields = append(fields, f.name)
				}
			}
		}
	}
	sort.Strings(flags)
	sort.Strings(fields)
	header := slices.Clone(growerColumns)
	for _, f := range flags {
		header = append(header, "config."+f)
	}
	header = append(header, fields...)
	if note != nil {
		header = append(header, FailedRowsColumn)
	}
	var b bytes.Buffer
	w := csvcell.NewWriter(&b, true) // ids and phones stay text in a spreadsheet; no cell runs as a formula
	if err := w.Write(header); err != nil {
		return nil, err
	}
	row := make([]string, len(header))
	for _, g := range growers {
		conns := g.conns
		if len(conns) == 0 {
			conns = []exportedConn{{}}
		}
		for _, c := range conns {
			clear(row)
			row[0] = g.ext
			if c.provider != nil {
				row[1] = c.provider.Name
			}
			row[2], row[3], row[4], row[5] = g.name, g.email, g.phone, g.address
			for _, v := range g.config {
				row[slices.Index(header, "config."+v.Name)] = v.Value
			}
			for _, f := range c.fields {
				row[len(growerColumns)+len(flags)+slices.Index(fields, f.name)] = f.value
			}
			if note != nil {
				row[len(row)-1] = note(g.ext)
			}
			if err := w.Write(row); err != nil {
				return nil, err
			}
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}
