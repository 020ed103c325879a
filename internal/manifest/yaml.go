package manifest

import (
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlReader walks a YAML manifest's node tree, so that every value keeps its line.
type yamlReader struct {
	b    *builder
	file string
	res  *resolver
	// offset is added to node lines: the line before the chunk being read (0 for a whole
	// document).
	offset int
	// probs receives the problems of the document's shape: the builder's, or a worker's own
	// while grower items are read in parallel.
	probs *collector
}

func newYAMLReader(b *builder, file string, res *resolver) *yamlReader {
	return &yamlReader{b: b, file: file, res: res, probs: &b.problems}
}

func (y *yamlReader) loc(n *yaml.Node) Loc { return Loc{File: y.file, Line: n.Line + y.offset} }

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// pairs returns a mapping's key/value nodes, reporting a non-mapping and duplicate keys.
func (y *yamlReader) pairs(n *yaml.Node, field string) [][2]*yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		y.probs.add(y.loc(n), field, "must be a mapping")
		return nil
	}
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			y.probs.add(y.loc(n), field, "keys must be strings")
			continue
		}
		if k.Value == "<<" {
			y.probs.add(y.loc(k), join(field, k.Value), "merge keys are not supported")
			continue
		}
		dup := false
		for _, kv := range out {
			dup = dup || kv[0].Value == k.Value
		}
		if dup {
			y.probs.add(y.loc(k), join(field, k.Value), "duplicate key %q", k.Value)
			continue
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// items returns a sequence's nodes, reporting a non-sequence.
func (y *yamlReader) items(n *yaml.Node, field string) []*yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		y.probs.add(y.loc(n), field, "must be a list")
		return nil
	}
	return n.Content
}

// str returns the scalar value of prefix.key ("" for null), reporting a non-scalar. The field
// name is built only for a problem.
func (y *yamlReader) str(n *yaml.Node, prefix, key string) string {
	n = deref(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		y.probs.add(y.loc(n), join(prefix, key), "must be a string")
		return ""
	}
	return n.Value
}

// plain reads a grower field, where references are refused (see plainValue).
func (y *yamlReader) plain(k, v *yaml.Node, prefix string) string {
	s := y.str(v, prefix, k.Value)
	val, ok := plainValue(s)
	if !ok {
		y.probs.add(y.loc(k), join(prefix, k.Value), errPlainRef, k.Value, quoted(s))
		return ""
	}
	return val
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// rawFields reads a mapping of credential or app fields.
func (y *yamlReader) rawFields(n *yaml.Node, field string, skip func(string) bool) []rawField {
	pairs := y.pairs(n, field)
	out := make([]rawField, 0, len(pairs))
	for _, kv := range pairs {
		k, v := kv[0], deref(kv[1])
		if skip != nil && skip(k.Value) {
			continue
		}
		rf := rawField{name: k.Value, loc: y.loc(k)}
		if v != nil && v.Kind == yaml.SequenceNode {
			rf.list = []string{}
			for _, it := range v.Content {
				rf.list = append(rf.list, y.str(it, field, k.Value))
			}
		} else {
			rf.value = y.str(v, field, k.Value)
		}
		out = append(out, rf)
	}
	return out
}

// parseChunked reads a document whose growers list is block style item by item (see
// yaml_chunks.go); ok is false when the document must be parsed whole with parse instead.
func (y *yamlReader) parseChunked(data []byte) (csvPath string, csvLoc Loc, ok bool) {
	head, chunks, ok := splitGrowers(data)
	if !ok {
		return "", Loc{}, false
	}
	csvPath, csvLoc = y.parse(head)
	return csvPath, csvLoc, y.growersChunked(chunks)
}

// maxWholeYAML bounds a document parsed whole. yaml.v3 holds a document as a node tree, about
// 40 bytes of memory per byte of YAML (a 48 MB flow-style list took 1.8 GB), so only the
// block-style growers list, read item by item, may be larger.
const maxWholeYAML = 4 << 20

// parse reads the whole document and returns the growersCsv reference, if any.
func (y *yamlReader) parse(data []byte) (csvPath string, csvLoc Loc) {
	if len(data) > maxWholeYAML {
		y.probs.add(Loc{File: y.file, Line: 1}, "", "the manifest is %d MiB of YAML that cannot be read grower by grower (a flow-style list such as growers: [...], tab indentation, document markers, or an alias to an anchor in another grower); "+
			"above %d MiB such a document is not read, as parsing it whole would take about 40 times its size in memory: write growers as a block-style list (one \"- \" item per grower) or use a CSV file",
			len(data)>>20, maxWholeYAML>>20)
		return "", Loc{}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		y.syntaxProblem(err)
		return "", Loc{}
	}
	if len(doc.Content) == 0 {
		y.probs.add(Loc{File: y.file, Line: 1}, "", "the manifest is empty")
		return "", Loc{}
	}
	top := map[string]*yaml.Node{}
	for _, kv := range y.pairs(doc.Content[0], "") {
		switch k := kv[0].Value; k {
		case "version", "defaults", "apps", "growers", "growersCsv":
			top[k] = kv[1]
		default:
			y.probs.add(y.loc(kv[0]), k, "unknown key %q (expected version, defaults, apps, growers, growersCsv)", k)
		}
	}
	if v, ok := top["version"]; ok {
		if s := y.str(v, "", "version"); s != strconv.Itoa(ManifestVersion) {
			y.probs.add(y.loc(v), "version", "unsupported manifest version %s (this leaf-import reads version %d)", quoted(s), ManifestVersion)
		}
	} else {
		y.probs.add(y.loc(doc.Content[0]), "version", "version is missing: start the manifest with `version: %d` (the format this leaf-import reads), so that a later format is never read as this one", ManifestVersion)
	}
	for _, kv := range y.pairs(top["defaults"], "defaults") {
		field := join("defaults", kv[0].Value)
		if kv[0].Value == "config" {
			y.b.configDefaults = y.b.readConfig(y.rawFields(kv[1], field, nil), field+".")
			continue
		}
		if p := y.b.provider(kv[0].Value, y.loc(kv[0]), field); p != nil {
			y.b.setDefaults(p, y.rawFields(kv[1], field, nil), y.res, field+".", y.loc(kv[0]))
		}
	}
	for i, n := range y.items(top["apps"], "apps") {
		y.app(n, "apps["+strconv.Itoa(i)+"]")
	}
	for i, n := range y.items(top["growers"], "growers") {
		y.b.addGrower(y.readGrower(n, i), y.res)
	}
	if v, ok := top["growersCsv"]; ok {
		csvPath, csvLoc = y.str(v, "", "growersCsv"), y.loc(v)
		if csvPath == "" {
			y.probs.add(csvLoc, "growersCsv", "growersCsv must name a CSV file")
		}
	}
	return csvPath, csvLoc
}

var appOwnKeys = map[string]bool{"provider": true, "appName": true, "clientEnvironment": true}

func (y *yamlReader) app(n *yaml.Node, field string) {
	var provider, appName, env string
	var envLoc Loc
	for _, kv := range y.pairs(n, field) {
		switch kv[0].Value {
		case "provider":
			provider = y.str(kv[1], field, "provider")
		case "appName":
			appName = y.str(kv[1], field, "appName")
		case "clientEnvironment":
			env, envLoc = y.str(kv[1], field, "clientEnvironment"), y.loc(kv[0])
		}
	}
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	loc := y.loc(n)
	if provider == "" {
		y.probs.add(loc, join(field, "provider"), "provider is required")
		return
	}
	p := y.b.provider(provider, loc, join(field, "provider"))
	if p == nil {
		return
	}
	raws := y.rawFields(n, field, func(k string) bool { return appOwnKeys[k] })
	y.b.addApp(p, appName, env, raws, y.res, field+".", loc, envLoc)
}

// rawGrower is a grower item as read from its nodes, before its references are resolved and
// its connections checked against the provider table. Reading needs nothing shared, so grower
// items can be read in parallel.
type rawGrower struct {
	field    string // "growers[i]"
	g        *Grower
	extLoc   Loc
	emailLoc Loc
	conns    []rawConn
	config   []rawField
	// probs are the shape problems found while reading (when read by a worker).
	probs []Problem
}

// rawConn is one connection of a grower item.
type rawConn struct {
	provider string
	loc      Loc
	fields   []rawField
}

var growerKeys = "(expected externalId, name, email, phone, address, connections, config)"

// readGrower reads grower item idx; nil when the item is not a mapping.
func (y *yamlReader) readGrower(n *yaml.Node, idx int) *rawGrower {
	field := "growers[" + strconv.Itoa(idx) + "]"
	d := deref(n)
	if d == nil || d.Kind != yaml.MappingNode {
		if d != nil {
			y.probs.add(y.loc(d), field, "a grower must be a mapping")
		}
		return nil
	}
	rg := &rawGrower{field: field, g: &Grower{Loc: y.loc(d)}}
	g := rg.g
	for _, kv := range y.pairs(d, field) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "externalId":
			rg.extLoc = y.loc(k)
			if g.ExternalID = y.plain(k, v, field); g.ExternalID == "" {
				g.ExternalID = y.str(v, field, k.Value) // refused, but not also missing
			}
		case "name":
			g.Name = y.plain(k, v, field)
		case "email":
			g.Email, rg.emailLoc = y.plain(k, v, field), y.loc(k)
		case "phone":
			g.Phone = y.plain(k, v, field)
		case "address":
			g.Address = y.plain(k, v, field)
		case "connections":
			conns := y.pairs(v, join(field, "connections"))
			rg.conns = make([]rawConn, 0, len(conns))
			for _, c := range conns {
				f := field + ".connections." + c[0].Value
				rg.conns = append(rg.conns, rawConn{provider: c[0].Value, loc: y.loc(c[0]), fields: y.rawFields(c[1], f, nil)})
			}
		case "config":
			rg.config = y.rawFields(v, join(field, "config"), nil)
		default:
			y.probs.add(y.loc(k), join(field, k.Value), "unknown key %q %s", k.Value, growerKeys)
		}
	}
	if rg.extLoc.File == "" {
		rg.extLoc = g.Loc
	}
	return rg
}

// addGrower resolves and checks a grower item read by readGrower and keeps it when it is sound.
func (b *builder) addGrower(rg *rawGrower, res *resolver) {
	if rg == nil {
		return
	}
	b.problems.merge(rg.probs)
	g := rg.g
	g.Connections = make([]*Connection, 0, len(rg.conns))
	for i, c := range rg.conns {
		f := rg.field + ".connections." + c.provider
		p := b.provider(c.provider, c.loc, f)
		if p == nil {
			continue
		}
		dup := false
		for _, prev := range rg.conns[:i] {
			if q, ok := leaf.LookupProvider(prev.provider); ok && q == p {
				b.problems.add(c.loc, f, "a second %s connection (first at %s)", p.Name, prev.loc)
				dup = true
				break
			}
		}
		if !dup {
			g.Connections = append(g.Connections, b.connection(p, c.fields, res, f+".", c.loc))
		}
	}
	g.Config = b.growerConfig(b.readConfig(rg.config, rg.field+".config."))
	if b.checkGrower(g, rg.extLoc, rg.emailLoc, rg.field+".", false) && b.kept(g) {
		b.growers = append(b.growers, g)
	}
}

// yamlMessage strips the "yaml: line N:" prefix (the location is given separately).
func yamlMessage(err error) string {
	msg := err.Error()
	if i := yamlLine.FindStringIndex(msg); i != nil {
		rest := msg[i[1]:]
		if len(rest) > 2 && rest[0] == ':' {
			return rest[2:]
		}
	}
	return msg
}
