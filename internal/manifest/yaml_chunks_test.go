package manifest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wholeParse reads a YAML document without the chunked path, for comparison.
func wholeParse(t *testing.T, doc string, env map[string]string) (*Manifest, Problems) {
	t.Helper()
	b := newBuilder()
	src := mapSource{files: map[string]string{"m/tokens/g1": "token-g1\n", "m/more.csv": "externalId,provider\n"}, env: env}
	newYAMLReader(b, "m/manifest.yaml", newResolver(src, "m/manifest.yaml", newConfinement(src, "m/manifest.yaml"))).parse([]byte(doc))
	return b.manifest("")
}

func summary(m *Manifest, ps Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String() + "\n")
	}
	if m != nil {
		for _, g := range m.Growers {
			fmt.Fprintf(&b, "%s %s %s %v\n", g.ExternalID, g.Name, g.Loc, len(g.Connections))
			for _, c := range g.Connections {
				fmt.Fprintf(&b, "  %s %v %s\n", c.Provider.Name, c.Fields.Names(), c.Loc)
			}
		}
	}
	return b.String()
}

func TestChunkedParseMatchesWholeParse(t *testing.T) {
	env := map[string]string{"JD_SECRET": "s", "AGL_KEY": "k"}
	docs := map[string]string{
		"valid": strings.Replace(validYAML, "growersCsv: more.csv\n", "", 1),
		"problems": `growers:
  # a comment between items
  - externalId: g1
    email: nope
  - externalId: g1

  - externalId: g2
    connections:
      CNHI: {clientId: x}
defaults: {}
`,
		"items at column 0": "growers:\n- externalId: a\n  name: A\n- externalId: b\n  phone: '1'\nversion: 1\n",
		"block scalar":      "growers:\n  - externalId: a\n    address: |\n      1 Main St\n      - not an item\n  - externalId: b\n",
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			_, _, ok := splitGrowers([]byte(doc))
			require.True(t, ok, "the splitter takes this document")
			m, ps := Parse("m/manifest.yaml", strings.NewReader(doc), mapSource{files: map[string]string{"m/tokens/g1": "token-g1\n"}, env: env})
			wm, wps := wholeParse(t, doc, env)
			assert.Equal(t, summary(wm, wps), summary(m, ps))
		})
	}
}

func TestChunkedParseFallsBack(t *testing.T) {
	for name, doc := range map[string]string{
		"anchor across items": "growers:\n  - &g {externalId: a, name: shared}\n  - {externalId: b, name: x}\n  - *g\n",
		"flow list":           "growers: [{externalId: a}, {externalId: b}]\n",
		"document marker":     "---\ngrowers:\n  - externalId: a\n",
	} {
		t.Run(name, func(t *testing.T) {
			m, ps := Parse("m/manifest.yaml", strings.NewReader(doc), mapSource{})
			wm, wps := wholeParse(t, doc, nil)
			assert.Equal(t, summary(wm, wps), summary(m, ps))
		})
	}
}

// A syntax error in one item is reported at its line, and the other items are still checked.
func TestChunkedParseReportsSyntaxErrorsPerItem(t *testing.T) {
	doc := "version: 1\ngrowers:\n  - externalId: a\n    email: bad\n  - externalId: b\n    name: [unclosed\n  - externalId: c\n    email: also-bad\n"
	_, ps := Parse("m.yaml", strings.NewReader(doc), mapSource{})
	wantProblem(t, ps, "m.yaml", 4, "growers[0].email", "not a valid email")
	wantProblem(t, ps, "m.yaml", 8, "growers[2].email", "not a valid email")
	found := false
	for _, p := range ps {
		if strings.Contains(p.Message, "invalid YAML") {
			found = true
			assert.GreaterOrEqual(t, p.Line, 5)
			assert.LessOrEqual(t, p.Line, 7)
		}
	}
	assert.True(t, found, ps.Error())
}
