package manifest

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// fastItem parses one grower item of a block-style list (a yamlChunk) without yaml.v3, for the
// plain subset manifests are written in: block mappings, plain and quoted one-line scalars, and
// one-line flow mappings of scalars. It builds the node tree yaml.v3 would build (kinds, values,
// lines, null tags) and returns ok=false for anything outside the subset, which then goes to
// yaml.v3. yaml.v3 costs about 50 µs per grower item on a 2-core machine; this costs a few.
// FuzzFastItem holds it to yaml.v3's answers.
func fastItem(text []byte) (*yaml.Node, bool) {
	var p fastParser
	return p.item(text)
}

// item parses one item, reusing the parser's node blocks: the nodes of the previous item must
// no longer be in use (readGrower copies out what it keeps).
func (p *fastParser) item(text []byte) (*yaml.Node, bool) {
	if !plainText(text) {
		return nil, false
	}
	p.lines, p.pos, p.block, p.used = p.lines[:0], 0, 0, 0
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		s := strings.TrimSuffix(string(line), "\r")
		if strings.ContainsRune(s, '\t') || len(s) > 1000 {
			return nil, false // yaml.v3 limits keys to 1024 characters; long lines are rare
		}
		p.lines = append(p.lines, s)
	}
	return p.listItem()
}

// plainText accepts valid UTF-8 made of YAML's printable characters, without tabs, without
// control characters other than line feeds (and carriage returns before them), and without the
// characters YAML also breaks lines at (U+0085, U+2028, U+2029) or a byte-order mark.
func plainText(text []byte) bool {
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRune(text[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return false
		case r == '\n':
		case r == '\r':
			if i+1 >= len(text) || text[i+1] != '\n' {
				return false
			}
		case r < 0x20 || r >= 0x7f && r < 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff ||
			r >= 0xd800 && r < 0xe000 || r == 0xfffe || r == 0xffff:
			return false
		}
		i += size
	}
	return true
}

type fastParser struct {
	lines []string
	pos   int // next line to read
	// blocks hold the nodes, 32 to a block, reused from item to item: a grower item needs about
	// 30 nodes, and allocating each would keep the garbage collector busy.
	blocks [][]yaml.Node
	block  int // current block
	used   int // nodes used in it
}

// node returns a node from the blocks, set to n.
func (p *fastParser) node(n yaml.Node) *yaml.Node {
	if p.block < len(p.blocks) && p.used == len(p.blocks[p.block]) {
		p.block, p.used = p.block+1, 0
	}
	if p.block == len(p.blocks) {
		p.blocks = append(p.blocks, make([]yaml.Node, 32))
	}
	nd := &p.blocks[p.block][p.used]
	*nd = n
	p.used++
	return nd
}

// next skips blank and comment lines and returns the next line's index, indentation and
// content; ok is false at the end.
func (p *fastParser) next() (idx, indent int, content string, ok bool) {
	for ; p.pos < len(p.lines); p.pos++ {
		l := p.lines[p.pos]
		t := strings.TrimLeft(l, " ")
		if t == "" || t[0] == '#' {
			continue
		}
		return p.pos, len(l) - len(t), strings.TrimRight(t, " "), true
	}
	return 0, 0, "", false
}

// listItem parses "<i>- key: value" and the block mapping that follows.
func (p *fastParser) listItem() (*yaml.Node, bool) {
	idx, indent, content, ok := p.next()
	if !ok || !strings.HasPrefix(content, "- ") {
		return nil, false
	}
	// The item's mapping starts after "- ": rewrite the line so that it reads as a key line.
	first := strings.TrimLeft(content[2:], " ")
	col := indent + len(content) - len(first)
	if first == "" || first[0] == '#' {
		return nil, false
	}
	p.lines[idx] = strings.Repeat(" ", col) + first
	m, ok := p.mapping(col)
	if !ok {
		return nil, false
	}
	if _, _, _, more := p.next(); more {
		return nil, false // a second item or trailing content
	}
	doc := p.node(yaml.Node{Kind: yaml.DocumentNode, Line: idx + 1})
	seq := p.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: idx + 1, Content: []*yaml.Node{m}})
	doc.Content = []*yaml.Node{seq}
	return doc, true
}

// mapping parses a block mapping whose keys are at column indent.
func (p *fastParser) mapping(indent int) (*yaml.Node, bool) {
	m := p.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
	for {
		save := p.pos
		idx, ind, content, ok := p.next()
		if !ok || ind < indent {
			p.pos = save
			break
		}
		if ind > indent {
			return nil, false
		}
		p.pos = idx + 1
		key, rest, ok := splitKey(content)
		if !ok {
			return nil, false
		}
		if m.Line == 0 {
			m.Line = idx + 1
		}
		k := p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: idx + 1})
		var v *yaml.Node
		switch {
		case rest == "":
			// A nested block mapping, or null.
			save := p.pos
			_, ind2, content2, more := p.next()
			p.pos = save
			if more && ind2 > indent {
				if strings.HasPrefix(content2, "- ") || content2 == "-" {
					return nil, false // a block sequence: leave it to yaml.v3
				}
				if v, ok = p.mapping(ind2); !ok {
					return nil, false
				}
			} else {
				v = p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: idx + 1})
			}
		case rest[0] == '{':
			if v, ok = p.flowMapping(rest, idx+1); !ok {
				return nil, false
			}
		default:
			if v, ok = p.scalar(rest, idx+1, false); !ok {
				return nil, false
			}
		}
		m.Content = append(m.Content, k, v)
	}
	if len(m.Content) == 0 {
		return nil, false
	}
	return m, true
}

// splitKey splits "key: rest" or "key:" with a plain key.
func splitKey(content string) (key, rest string, ok bool) {
	i := strings.Index(content, ":")
	for i >= 0 && i+1 < len(content) && content[i+1] != ' ' {
		j := strings.Index(content[i+1:], ":")
		if j < 0 {
			return "", "", false
		}
		i += j + 1
	}
	if i <= 0 {
		return "", "", false
	}
	key = content[:i]
	if !identifier(key) {
		return "", "", false
	}
	return key, strings.TrimLeft(content[i+1:], " "), true
}

// plainOK reports whether s reads as the same plain scalar in YAML: no indicator at its start,
// no ": " or " #" inside, nothing that flow context would split when flow is set.
func plainOK(s string, flow bool) bool {
	if s == "" || strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") || strings.Contains(s, ": ") ||
		strings.Contains(s, " #") || strings.HasSuffix(s, ":") || strings.HasPrefix(s, " ") {
		return false
	}
	if flow && strings.ContainsAny(s, ",[]{}:?") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfeff {
			return false
		}
	}
	return true
}

// identifier accepts the keys manifests use: letters, digits, '_', '-' and '.', starting with a
// letter or '_'.
func identifier(s string) bool {
	if s == "" || len(s) > 128 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z' || s[0] == '_') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return !isNullWord(s) && plainString(s)
}

func isNullWord(s string) bool { return s == "~" || s == "null" || s == "Null" || s == "NULL" }

// scalar parses a one-line value: quoted without escapes, or plain with an optional comment.
func (p *fastParser) scalar(s string, line int, flow bool) (*yaml.Node, bool) {
	if s == "" {
		return nil, false
	}
	n := p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: line})
	switch s[0] {
	case '"':
		end := strings.IndexByte(s[1:], '"')
		if end < 0 || strings.ContainsRune(s[1:end+1], '\\') || !trailerOK(s[end+2:]) {
			return nil, false
		}
		n.Value, n.Style = s[1:end+1], yaml.DoubleQuotedStyle
		return n, controlFree(n.Value)
	case '\'':
		body := s[1:]
		var b strings.Builder
		for {
			i := strings.IndexByte(body, '\'')
			if i < 0 {
				return nil, false
			}
			b.WriteString(body[:i])
			if i+1 < len(body) && body[i+1] == '\'' {
				b.WriteByte('\'')
				body = body[i+2:]
				continue
			}
			if !trailerOK(body[i+1:]) {
				return nil, false
			}
			break
		}
		n.Value, n.Style = b.String(), yaml.SingleQuotedStyle
		return n, controlFree(n.Value)
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = strings.TrimRight(s[:i], " ")
	}
	if !plainOK(s, flow) {
		return nil, false
	}
	n.Value = s
	if isNullWord(s) {
		n.Tag = "!!null"
	} else if !plainString(s) {
		return nil, false // a number, boolean or timestamp: leave its tag to yaml.v3
	}
	return n, true
}

// plainString reports whether yaml.v3 resolves the plain scalar s to a string. Anything that
// starts like a number or is a boolean word is left to yaml.v3.
func plainString(s string) bool {
	c := s[0]
	if c >= '0' && c <= '9' || c == '+' || c == '.' {
		return false
	}
	if len(s) > 5 || !strings.ContainsRune("tTfFyYnNoO", rune(c)) {
		return true
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n":
		return false
	}
	return true
}

func controlFree(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// trailerOK accepts what may follow a closing quote: nothing, spaces, or a comment.
func trailerOK(s string) bool {
	t := strings.TrimLeft(s, " ")
	return t == "" || t[0] == '#' && len(t) != len(s)
}

// flowMapping parses a one-line "{k: v, k2: 'v2', k3: "v3"}" of plain keys and scalar values.
func (p *fastParser) flowMapping(s string, line int) (*yaml.Node, bool) {
	m := p.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Line: line})
	rest := strings.TrimLeft(s[1:], " ")
	if strings.HasPrefix(rest, "}") {
		return m, trailerOK(rest[1:])
	}
	for {
		i := strings.Index(rest, ": ")
		if i <= 0 {
			return nil, false
		}
		key := rest[:i]
		if !identifier(key) {
			return nil, false
		}
		rest = strings.TrimLeft(rest[i+2:], " ")
		if rest == "" {
			return nil, false
		}
		var raw string
		switch rest[0] {
		case '"':
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, false
			}
			raw, rest = rest[:end+2], rest[end+2:]
		case '\'':
			j := 1
			for {
				k := strings.IndexByte(rest[j:], '\'')
				if k < 0 {
					return nil, false
				}
				j += k + 1
				if j < len(rest) && rest[j] == '\'' {
					j++
					continue
				}
				break
			}
			raw, rest = rest[:j], rest[j:]
		default:
			end := strings.IndexAny(rest, ",}")
			if end < 0 {
				return nil, false
			}
			raw, rest = strings.TrimRight(rest[:end], " "), rest[end:]
			if strings.ContainsAny(raw, "#") {
				return nil, false
			}
		}
		v, ok := p.scalar(raw, line, true)
		if !ok {
			return nil, false
		}
		m.Content = append(m.Content, p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: line}), v)
		rest = strings.TrimLeft(rest, " ")
		switch {
		case strings.HasPrefix(rest, ","):
			rest = strings.TrimLeft(rest[1:], " ")
			if rest == "" || rest[0] == '}' {
				return nil, false
			}
		case strings.HasPrefix(rest, "}"):
			return m, trailerOK(rest[1:])
		default:
			return nil, false
		}
	}
}
