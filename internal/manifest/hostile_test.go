package manifest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A CSV cell holding NUL or ESC is refused with the same problem whether it came from a CSV
// file or a YAML escape: neither reaches Leaf, a plan or a terminal.
func TestControlCharactersAreRefusedInCSVAsInYAML(t *testing.T) {
	for _, c := range []struct{ name, cell, field string }{
		{"NUL in externalId", "g\x001", "externalId"},
		{"ESC in name", "\x1b[31mred", "name"},
		{"DEL in email", "a\x7f@b.co", "email"},
		{"C1 in phone", "555\u0085\u009b1", "phone"},
		{"ESC in a credential", "tok\x1ben", "refreshToken"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cols := map[string]string{"externalId": "g1", "name": "", "email": "", "phone": "", "refreshToken": ""}
			cols[c.field] = c.cell
			row := []string{cols["externalId"], "AgLeader", cols["name"], cols["email"], cols["phone"], cols["refreshToken"], "p", "k"}
			csv := "externalId,provider,name,email,phone,refreshToken,publicKey,privateKey\n" + strings.Join(row, ",") + "\n"
			m, ps := load(t, "g.csv", map[string]string{"g.csv": csv}, nil)
			require.NotEmpty(t, ps, "the cell was accepted: %+v", m)
			assert.Contains(t, ps.Error(), "manifests hold text only")
			assert.NotContains(t, ps.Error(), "\x1b", "the escape is never echoed")
			assert.NotContains(t, ps.Error(), "\x00")
		})
	}
	// The YAML spelling of the same value: a double-quoted escape.
	_, ps := load(t, "m.yaml", map[string]string{"m.yaml": "version: 1\ngrowers:\n  - {externalId: g1, name: \"\\e[31mred\"}\n"}, nil)
	wantProblem(t, ps, "m.yaml", 3, "growers[0].name", "holds a control character (U+001B at byte 1)")
	// Tabs and line breaks are text: an address may span lines.
	_, ps = load(t, "g.csv", map[string]string{"g.csv": "externalId,provider,address\ng1,,\"1 Main St\r\n\tSuite 2\"\n"}, nil)
	assert.Empty(t, ps, ps.Error())
	// Bytes that are not UTF-8 are refused in a CSV (YAML refuses them while parsing).
	_, ps = load(t, "g.csv", map[string]string{"g.csv": "externalId,provider,name\ng1,,caf\xe9\n"}, nil)
	wantProblem(t, ps, "g.csv", 2, "name", "is not UTF-8 text (byte 4)")
}

// A reference anywhere in a grower field is a located problem, not text sent literally.
func TestReferencesInExternalIDAndEmailAreProblems(t *testing.T) {
	yaml := "version: 1\ngrowers:\n  - externalId: \"${MYSEC}\"\n  - externalId: g2\n    email: \"${MYSEC}@b.co\"\n  - externalId: g3\n    name: \"Jo ${MYSEC}\"\n"
	_, ps := load(t, "m.yaml", map[string]string{"m.yaml": yaml}, map[string]string{"MYSEC": "CANARY-sec"})
	wantProblem(t, ps, "m.yaml", 3, "growers[0].externalId", "externalId holds a reference")
	wantProblem(t, ps, "m.yaml", 5, "growers[1].email", "email holds a reference")
	wantProblem(t, ps, "m.yaml", 7, "growers[2].name", "name holds a reference")
	assert.Equal(t, 3, ps.Count(), "one problem each (a refused externalId is not also missing): %s", ps.Error())
	assert.NotContains(t, ps.Error(), "CANARY-sec")

	csv := "externalId,provider,email\n${MYSEC},,\ng2,,${MYSEC}@b.co\n"
	_, ps = load(t, "g.csv", map[string]string{"g.csv": csv}, map[string]string{"MYSEC": "CANARY-sec"})
	wantProblem(t, ps, "g.csv", 2, "externalId", "externalId holds a reference")
	wantProblem(t, ps, "g.csv", 3, "email", "email holds a reference")

	// $${ still writes a literal ${, wherever it stands.
	m, ps := load(t, "m.yaml", map[string]string{"m.yaml": "version: 1\ngrowers:\n  - {externalId: \"a-$${x}\", name: \"Jo $${y} z\"}\n"}, nil)
	require.Empty(t, ps, ps.Error())
	assert.Equal(t, "a-${x}", m.Growers[0].ExternalID)
	assert.Equal(t, "Jo ${y} z", m.Growers[0].Name)
}

// Every field has a maximum length, checked at validate: a 10 MB name never reaches a plan.
func TestFieldsLongerThanTheirLimitAreProblems(t *testing.T) {
	for _, c := range []struct {
		field string
		max   int
		value func(n int) string
	}{
		{"externalId", maxExternalID, func(n int) string { return strings.Repeat("x", n) }},
		{"name", maxName, func(n int) string { return strings.Repeat("é", n) }},
		{"email", maxEmail, func(n int) string { return strings.Repeat("a", n-6) + "@b.com" }},
		{"phone", maxPhone, func(n int) string { return strings.Repeat("5", n) }},
		{"address", maxAddress, func(n int) string { return strings.Repeat("a", n) }},
	} {
		doc := func(n int) string {
			id := "  - externalId: g1\n    "
			if c.field == "externalId" {
				id = "  - "
			}
			return "version: 1\ngrowers:\n" + id + c.field + ": \"" + c.value(n) + "\"\n"
		}
		_, ps := load(t, "m.yaml", map[string]string{"m.yaml": doc(c.max)}, nil)
		assert.Empty(t, ps, "%s at its limit: %s", c.field, ps.Error())
		_, ps = load(t, "m.yaml", map[string]string{"m.yaml": doc(c.max + 1)}, nil)
		require.Len(t, ps, 1, c.field)
		assert.Equal(t, "growers[0]."+c.field, ps[0].Field)
		assert.Contains(t, ps[0].Message, "is longer than")
		assert.Less(t, len(ps.Error()), 400, "the value is not printed")
	}
	big := strings.Repeat("n", 10<<20)
	_, ps := load(t, "g.csv", map[string]string{"g.csv": "externalId,provider,name\ng1,," + big + "\n"}, nil)
	wantProblem(t, ps, "g.csv", 2, "name", "is longer than 255 characters")

	long := strings.Repeat("t", maxCredential+1)
	_, ps = load(t, "m.yaml", map[string]string{"m.yaml": "version: 1\ngrowers:\n  - externalId: g1\n    connections:\n      AgLeader: {refreshToken: \"${TOK}\", publicKey: p, privateKey: k}\n"},
		map[string]string{"TOK": long})
	wantProblem(t, ps, "m.yaml", 5, "growers[0].connections.AgLeader.refreshToken", "resolves to more than 65536 bytes")
	_, ps = load(t, "m.yaml", map[string]string{"m.yaml": "version: 1\napps:\n  - {provider: AgLeader, appName: " + strings.Repeat("a", maxAppName+1) + ", publicKey: p, privateKey: k}\n"}, nil)
	wantProblem(t, ps, "m.yaml", 3, "apps[0].appName", "is longer than 255 characters")
}

// A file with 100,000 bad columns reports the first problems and a count, not megabytes.
func TestProblemsAreCappedWithACountOfTheRest(t *testing.T) {
	cols := make([]string, 100_000)
	for i := range cols {
		cols[i] = "bogus" + strings.Repeat("x", i%7)
	}
	header := "externalId,provider," + strings.Join(cols, ",")
	_, ps := load(t, "g.csv", map[string]string{"g.csv": header + "\n"}, nil)
	require.Len(t, ps, MaxProblems+1)
	assert.Equal(t, 100_000, ps.Count())
	assert.Equal(t, 100_000-MaxProblems, ps[MaxProblems].More)
	assert.Contains(t, ps[MaxProblems].String(), "and 99900 more problem(s) not shown")
	assert.Less(t, len(ps.Error()), 40_000)

	// In line order: the first hundred are the first hundred lines.
	var doc strings.Builder
	doc.WriteString("version: 1\ngrowers:\n")
	for range 300 {
		doc.WriteString("  - {externalId: g, email: nope}\n")
	}
	_, ps = load(t, "m.yaml", map[string]string{"m.yaml": doc.String()}, nil)
	require.Len(t, ps, MaxProblems+1)
	assert.Equal(t, 3, ps[0].Line)
	assert.Greater(t, ps.Count(), 300)
}

// A YAML manifest names its format version; an unknown provider close to a known one gets a hint.
func TestAManifestWithoutAVersionIsAProblem(t *testing.T) {
	_, ps := load(t, "m.yaml", map[string]string{"m.yaml": "growers:\n  - externalId: g1\n"}, nil)
	wantProblem(t, ps, "m.yaml", 1, "version", "version is missing: start the manifest with `version: 1`")
	_, ps = load(t, "m.yaml", map[string]string{"m.yaml": "version: 2\ngrowers: []\n"}, nil)
	wantProblem(t, ps, "m.yaml", 1, "version", `unsupported manifest version "2"`)
	_, ps = load(t, "m.yaml", map[string]string{"m.yaml": "version: 1\ngrowers:\n  - externalId: g1\n    connections:\n      JohnDeer: {}\n"}, nil)
	wantProblem(t, ps, "m.yaml", 5, "growers[0].connections.JohnDeer", "did you mean JohnDeere?")
}

// A large document that cannot be read grower by grower is refused with a hint, never parsed
// whole at forty times its size; a small one is still read.
func TestALargeFlowStyleManifestIsRefusedWithAHint(t *testing.T) {
	doc := func(n int) string {
		var b strings.Builder
		b.WriteString("version: 1\ngrowers: [")
		for i := range n {
			b.WriteString("{externalId: g" + strings.Repeat("0", 20) + string(rune('a'+i%26)) + "},")
		}
		b.WriteString("]\n")
		return b.String()
	}
	big := doc(maxWholeYAML/30 + 1)
	require.Greater(t, len(big), maxWholeYAML)
	m, ps := load(t, "m.yaml", map[string]string{"m.yaml": big}, nil)
	assert.Empty(t, m.Growers)
	wantProblem(t, ps, "m.yaml", 1, "", "write growers as a block-style list")
	assert.Contains(t, ps.Error(), "or use a CSV file")

	m, ps = load(t, "m.yaml", map[string]string{"m.yaml": "version: 1\ngrowers: [{externalId: g1}, {externalId: g2}]\n"}, nil)
	require.Empty(t, ps, ps.Error())
	assert.Len(t, m.Growers, 2)
}
