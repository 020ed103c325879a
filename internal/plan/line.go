package plan

import (
	"strings"
	"unicode/utf8"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
)

// A change's one line of text, as text plans, the apply's listing and problems show it.

// sourceColumn is where the source location column starts in text plans.
const sourceColumn = 56

var actionSymbols = map[Action]string{ActionCreate: "+", ActionUpdate: "~", ActionReplace: "±", ActionDelete: "-"}

// Line renders one change as the text plan shows it.
func (c *Change) Line() string { return string(c.AppendLine(nil)) }

// AppendLine appends c's line to dst: a text plan writes a million of them from one buffer.
func (c *Change) AppendLine(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, actionSymbols[c.Action]...)
	dst = append(dst, ' ')
	dst = append(dst, c.Kind.String()...)
	dst = append(dst, ' ')
	dst = c.appendSubject(dst)
	switch {
	case c.Action == ActionDelete:
		dst = append(append(append(dst, " ("...), c.Reason...), ')')
	case c.Kind == KindUser && c.Action == ActionCreate:
		if len(c.Fields) > 0 && c.Fields[0].Name == "name" {
			dst = c.Fields[0].appendShown(append(dst, ' '), c.Fields[0].New)
		}
	case c.Kind == KindCredential && c.Action == ActionCreate:
		if len(c.Fields) > 0 {
			dst = append(append(append(dst, " ("...), c.Fields[0].Name...), ' ')
			dst = append(c.Fields[0].appendShown(dst, c.Fields[0].New), ')')
		}
	case c.Kind == KindConfig:
		dst = append(append(dst, ": "...), configFieldList(c.Fields)...)
	case c.Reason == ReasonForced || c.Reason == ReasonUpdateApps:
		dst = append(append(dst, ": "...), c.Reason...)
	case c.Reason == ReasonUnhealthy:
		dst = append(dst, ": status "+c.Status+" -> replace ("+fieldList(c.Fields)+")"...)
	case c.Reason == ReasonAdopt:
		dst = append(dst, ": adopt Leaf user "+c.LeafUserID+" by email; "+fieldList(c.Fields)...)
	case len(c.Fields) > 0:
		dst = append(append(dst, ": "...), fieldList(c.Fields)...)
	}
	return appendSource(dst, start, c.Source)
}

// Subject names the object: externalId, externalId/provider or provider/appName (env).
func (c *Change) Subject() string { return string(c.appendSubject(nil)) }

// appendSubject appends what Subject returns.
func (c *Change) appendSubject(dst []byte) []byte {
	switch c.Kind {
	case KindUser, KindConfig:
		return append(dst, c.ExternalID...)
	case KindCredential:
		return append(append(append(dst, c.ExternalID...), '/'), c.Provider...)
	}
	dst = append(append(append(dst, c.Provider...), '/'), c.AppName...)
	if c.Environment != "" {
		dst = append(append(append(dst, " ("...), c.Environment...), ')')
	}
	return dst
}

func fieldList(fs []FieldChange) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + " " + f.show(f.Old) + " -> " + f.show(f.New)
	}
	return strings.Join(parts, ", ")
}

// configFieldList shows config flags: booleans and numbers as they are, strings quoted, and
// "(inherited)" for a flag the user does not set (it takes the API owner's value).
func configFieldList(fs []FieldChange) string {
	show := func(name, v string) string {
		if v == "" {
			return "(inherited)"
		}
		if f, ok := leaf.LookupConfigFlag(name); ok && f.Type != leaf.ConfigString {
			if _, err := f.Parse(v); err == nil {
				return v
			}
		}
		return manifest.Quoted(v)
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + " " + show(f.Name, f.Old) + " -> " + show(f.Name, f.New)
	}
	return strings.Join(parts, ", ")
}

// WithSource pads s to the source column and appends l, as a text plan's lines show it.
func WithSource(s string, l manifest.Loc) string { return string(appendSource([]byte(s), 0, l)) }

// appendSource pads the line that starts at dst[start] to the source column and appends l.
func appendSource(dst []byte, start int, l manifest.Loc) []byte {
	if l.File == "" {
		return dst
	}
	pad := max(sourceColumn-utf8.RuneCount(dst[start:]), 2)
	for range pad {
		dst = append(dst, ' ')
	}
	return l.AppendTo(dst)
}
