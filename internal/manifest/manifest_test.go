package manifest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func load(t *testing.T, name string, files map[string]string, env map[string]string) (*Manifest, Problems) {
	t.Helper()
	return Load(name, mapSource{files: files, env: env})
}

// wantProblem asserts that a problem at file:line names the field and says msg.
func wantProblem(t *testing.T, ps Problems, file string, line int, field, msg string) {
	t.Helper()
	for _, p := range ps {
		if p.File == file && p.Line == line && p.Field == field && strings.Contains(p.Message, msg) {
			return
		}
	}
	t.Errorf("no problem %s:%d %s %q in:\n%s", file, line, field, msg, ps.Error())
}

const validYAML = `version: 1
defaults:
  JohnDeere: {clientKey: key, clientSecret: "${JD_SECRET}", clientEnvironment: production}
apps:
  - provider: JohnDeere
    appName: acme
    clientEnvironment: PRODUCTION
    clientKey: key
    clientSecret: "${JD_SECRET}"
    scopes: [FIELDS:READ, OPERATIONS:READ]
growers:
  - externalId: g1
    name: Jane Smith
    email: jane@example.com
    phone: "+15551234567"
    address: 123 Field Rd
    connections:
      john-deere: {refreshToken: "${file:tokens/g1}"}
      AgLeader: {refreshToken: rt, publicKey: pk, privateKey: "${AGL_KEY}"}
  - externalId: g2
growersCsv: more.csv
`

func TestLoadValidYAMLWithCSV(t *testing.T) {
	m, ps := load(t, "m/manifest.yaml", map[string]string{
		"m/manifest.yaml": validYAML,
		"m/tokens/g1":     "token-g1\n",
		"m/more.csv":      "provider,externalId,name,refreshToken,clientEnvironment,clientKey,clientSecret\nJohnDeere,g3,Bob,rt3,,,\n,g4,,,,,\nCLAAS,g4,Al,rt4,,ck,cs\n",
	}, map[string]string{"JD_SECRET": "s3cret", "AGL_KEY": "agl"})
	require.Empty(t, ps, ps.Error())
	require.Len(t, m.Growers, 4)
	g1 := m.Growers[0]
	assert.Equal(t, "g1", g1.ExternalID)
	assert.Equal(t, Loc{"m/manifest.yaml", 12}, g1.Loc)
	require.Len(t, g1.Connections, 2)
	jd := g1.Connections[1]
	assert.Equal(t, "JohnDeere", jd.Provider.Name, "the API path form is accepted")
	assert.Equal(t, "token-g1", jd.Fields.Value("refreshToken").Reveal(), "file reference, trailing newline trimmed")
	assert.Equal(t, "s3cret", jd.Fields.Value("clientSecret").Reveal(), "default merged under the connection")
	assert.Equal(t, "PRODUCTION", jd.Fields.Value("clientEnvironment").Reveal(), "environment normalised")
	assert.Equal(t, Loc{"m/manifest.yaml", 18}, jd.Loc)

	g3 := m.Growers[2]
	assert.Equal(t, Loc{"m/more.csv", 2}, g3.Loc)
	assert.Equal(t, "s3cret", g3.Connections[0].Fields.Value("clientSecret").Reveal(), "YAML defaults apply to CSV rows")
	g4 := m.Growers[3]
	assert.Equal(t, "Al", g4.Name, "rows of one grower merge")
	require.Len(t, g4.Connections, 1)
	assert.Equal(t, "CLAAS", g4.Connections[0].Provider.Name)

	require.Len(t, m.Apps, 1)
	assert.Equal(t, "JohnDeere/acme/PRODUCTION", m.Apps[0].Key())
	assert.Equal(t, "FIELDS:READ,OPERATIONS:READ", m.Apps[0].Fields.Value("scopes").Reveal())
	assert.Equal(t, []string{"m/manifest.yaml", "m/more.csv"}, m.LiteralSecretFiles)
	assert.True(t, strings.HasPrefix(m.Digest, "sha256:"))
}

func TestDigestCoversTheCSV(t *testing.T) {
	files := map[string]string{"m.yaml": "version: 1\ngrowersCsv: g.csv\n", "g.csv": "externalId,provider\ng1,\n"}
	a, ps := load(t, "m.yaml", files, nil)
	require.Empty(t, ps)
	files["g.csv"] = "externalId,provider\ng2,\n"
	b, ps := load(t, "m.yaml", files, nil)
	require.Empty(t, ps)
	assert.NotEqual(t, a.Digest, b.Digest)
}

func TestYAMLProblemsNameFileLineAndField(t *testing.T) {
	yaml := `version: 1
defaults:
  JohnDeere: {clientEnvironment: SANDBOX}
  Nope: {}
apps:
  - provider: JohnDeere
    appName: acme
    clientKey: k
  - provider: Valley
    appName: v
  - appName: x
growers:
  - externalId: g1
    email: not-an-email
    nmae: typo
    connections:
      JohnDeere: {refreshToken: "${MISSING_VAR}", clientKey: k, clientSecret: s}
      FarmersEdge: {token: x}
      CNHI: {clientId: c, refershToken: r}
  - externalId: g1
    name: Second
  - name: no id
    connections:
      AgVance: {apiKey: a, databaseId: d, username: u, password: "${file:missing.txt}", clientEnvironment: staging}
  - externalId: g4
    connections:
      Sentera: [1, 2]
extra: true
`
	_, ps := load(t, "dir/m.yaml", map[string]string{"dir/m.yaml": yaml}, nil)
	const f = "dir/m.yaml"
	wantProblem(t, ps, f, 3, "defaults.JohnDeere.clientEnvironment", "STAGE or PRODUCTION")
	wantProblem(t, ps, f, 4, "defaults.Nope", `unknown provider "Nope"`)
	wantProblem(t, ps, f, 6, "apps[0].clientEnvironment", "JohnDeere apps need a clientEnvironment")
	wantProblem(t, ps, f, 6, "apps[0]", "missing required JohnDeere app field(s): clientSecret")
	wantProblem(t, ps, f, 9, "apps[1].provider", "Valley has no Leaf Link app keys")
	wantProblem(t, ps, f, 11, "apps[2].provider", "provider is required")
	wantProblem(t, ps, f, 14, "growers[0].email", `"not-an-email" is not a valid email address`)
	wantProblem(t, ps, f, 15, "growers[0].nmae", `unknown key "nmae"`)
	wantProblem(t, ps, f, 17, "growers[0].connections.JohnDeere.refreshToken", "environment variable MISSING_VAR is not set")
	for _, p := range ps {
		assert.False(t, p.Line == 17 && p.Field != "growers[0].connections.JohnDeere.refreshToken",
			"one problem at line 17 (the unset variable; the bad default is reported at line 3): %s", p)
	}
	wantProblem(t, ps, f, 18, "growers[0].connections.FarmersEdge", `unknown provider "FarmersEdge"`)
	wantProblem(t, ps, f, 19, "growers[0].connections.CNHI.refershToken", "refershToken is not a CNHI field")
	wantProblem(t, ps, f, 19, "growers[0].connections.CNHI", "missing required CNHI field(s): clientSecret, subscriptionKey, refreshToken, clientEnvironment")
	wantProblem(t, ps, f, 20, "growers[1].externalId", `duplicate externalId "g1" (first defined at dir/m.yaml:13)`)
	wantProblem(t, ps, f, 22, "growers[2].externalId", "externalId is required")
	wantProblem(t, ps, f, 24, "growers[2].connections.AgVance.password", "file dir/missing.txt does not exist")
	wantProblem(t, ps, f, 24, "growers[2].connections.AgVance.clientEnvironment", "STAGE or PRODUCTION")
	wantProblem(t, ps, f, 27, "growers[3].connections.Sentera", "must be a mapping")
	wantProblem(t, ps, f, 28, "extra", `unknown key "extra"`)
	for i := 1; i < len(ps); i++ {
		assert.LessOrEqual(t, ps[i-1].Line, ps[i].Line, "problems come in line order")
	}
}

func TestYAMLSyntaxErrorHasALine(t *testing.T) {
	_, ps := load(t, "m.yaml", map[string]string{"m.yaml": "version: 1\ngrowers:\n  - externalId: g1\n   name: bad indent\n"}, nil)
	require.Len(t, ps, 1)
	assert.Positive(t, ps[0].Line, "the YAML parser's line")
	assert.Contains(t, ps[0].Message, "invalid YAML")
	assert.NotContains(t, ps[0].Message, "line", "the line is given once, as the location")
}

func TestYAMLVersionAndShape(t *testing.T) {
	_, ps := load(t, "m.yaml", map[string]string{"m.yaml": "version: 2\ngrowers: {a: b}\n"}, nil)
	wantProblem(t, ps, "m.yaml", 1, "version", "unsupported manifest version")
	wantProblem(t, ps, "m.yaml", 2, "growers", "must be a list")
	_, ps = load(t, "m.yaml", map[string]string{"m.yaml": "growers:\n  - externalId: a\n    externalId: b\n"}, nil)
	wantProblem(t, ps, "m.yaml", 3, "growers[0].externalId", `duplicate key "externalId"`)
	_, ps = load(t, "m.yaml", map[string]string{"m.yaml": ""}, nil)
	wantProblem(t, ps, "m.yaml", 1, "", "empty")
	_, ps = load(t, "absent.yaml", map[string]string{}, nil)
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Message, "cannot open the manifest")
	_, ps = load(t, "m.yaml", map[string]string{"m.yaml": "growersCsv: nope.csv\n"}, nil)
	wantProblem(t, ps, "m.yaml", 1, "growersCsv", "nope.csv cannot be read")
}

func TestCSVProblemsNameFileLineAndField(t *testing.T) {
	csv := "externalId,provider,name,email,refreshToken,clientKey,clientSecret,clientEnvironment,privateKey\n" +
		"g1,JohnDeere,Jane,jane@example.com,rt,k,s,PRODUCTION,\n" + // 2 ok
		"g1,AgLeader,Janet,,rt,,,,pk\n" + // 3 conflicting name; AgLeader missing publicKey
		",JohnDeere,,,rt,k,s,STAGE,\n" + // 4 externalId missing
		"g2,Nope,,,,,,,\n" + // 5 unknown provider
		"g3,JohnDeere,,bad@,rt,k,s,TEST,\n" + // 6 bad email, bad env
		"g4,JohnDeere,,,${NOPE},k,,STAGE,\n" + // 7 unset var, missing clientSecret
		"g5,,,,rt,,,,\n" + // 8 credential cells without provider
		"g1,JohnDeere,,,rt2,k,s,STAGE,\n" + // 9 second JohnDeere row
		"g6,Trimble,,,rt,,,,pk\n" + // 10 privateKey is not a Trimble field
		"g7,JohnDeere\n" // 11 short row
	_, ps := load(t, "data/g.csv", map[string]string{"data/g.csv": csv}, nil)
	const f = "data/g.csv"
	wantProblem(t, ps, f, 3, "name", `conflicting name for grower "g1": "Janet" here, "Jane" at data/g.csv:2`)
	wantProblem(t, ps, f, 3, "", "missing required AgLeader field(s): publicKey")
	wantProblem(t, ps, f, 4, "externalId", "externalId is required")
	wantProblem(t, ps, f, 5, "provider", `unknown provider "Nope"`)
	wantProblem(t, ps, f, 6, "email", `"bad@" is not a valid email address`)
	wantProblem(t, ps, f, 6, "clientEnvironment", "STAGE or PRODUCTION")
	wantProblem(t, ps, f, 7, "refreshToken", "environment variable NOPE is not set")
	wantProblem(t, ps, f, 7, "", "missing required JohnDeere field(s): clientSecret")
	wantProblem(t, ps, f, 8, "provider", "credential cells (refreshToken) but no provider")
	wantProblem(t, ps, f, 9, "provider", `a second JohnDeere row for grower "g1" (first at data/g.csv:2)`)
	wantProblem(t, ps, f, 10, "privateKey", "privateKey is not a Trimble field")
	wantProblem(t, ps, f, 11, "", "the row has 2 cells, the header 9")
}

func TestCSVHeaderProblems(t *testing.T) {
	_, ps := load(t, "g.csv", map[string]string{"g.csv": "externalId,provider,refershToken,name,name\ng1,JohnDeere,x,a,b\n"}, nil)
	wantProblem(t, ps, "g.csv", 1, "refershToken", `unknown column "refershToken"`)
	wantProblem(t, ps, "g.csv", 1, "name", `duplicate column "name"`)
	assert.Len(t, ps, 2, "rows are not read under a bad header: %s", ps.Error())

	_, ps = load(t, "g.csv", map[string]string{"g.csv": "name,email\nx,y\n"}, nil)
	wantProblem(t, ps, "g.csv", 1, "externalId", `missing required column "externalId"`)
	wantProblem(t, ps, "g.csv", 1, "provider", `missing required column "provider"`)

	_, ps = load(t, "g.csv", map[string]string{"g.csv": ""}, nil)
	wantProblem(t, ps, "g.csv", 1, "", "empty")

	_, ps = load(t, "g.csv", map[string]string{"g.csv": "externalId,provider\n\"g1,\n"}, nil)
	require.NotEmpty(t, ps)
	assert.Contains(t, ps[0].Message, "invalid CSV")
}

func TestCSVQuotedNewlinesKeepLineNumbers(t *testing.T) {
	csv := "externalId,provider,address,email\ng1,,\"1 Main St\nSuite 2\",a@example.com\ng2,,x,bad\n"
	_, ps := load(t, "g.csv", map[string]string{"g.csv": csv}, nil)
	wantProblem(t, ps, "g.csv", 4, "email", `"bad" is not a valid email address`)
}

func TestCSVAndYAMLShareExternalIDs(t *testing.T) {
	_, ps := load(t, "m.yaml", map[string]string{
		"m.yaml": "growers:\n  - externalId: g1\ngrowersCsv: g.csv\n",
		"g.csv":  "externalId,provider\ng1,\n",
	}, nil)
	wantProblem(t, ps, "g.csv", 2, "externalId", `duplicate externalId "g1" (first defined at m.yaml:2)`)
}

func TestReferences(t *testing.T) {
	files := map[string]string{"m.yaml": `version: 1
growers:
  - externalId: g1
    connections:
      Valley: {apid: "$${LITERAL}", initializationVector: "${IV}", key: "${file:keys/key}", username: u, password: "${EMPTY}"}
`, "keys/key": "k\r\n"}
	m, ps := load(t, "m.yaml", files, map[string]string{"IV": "iv", "EMPTY": ""})
	wantProblem(t, ps, "m.yaml", 5, "growers[0].connections.Valley", "missing required Valley field(s): password")
	_ = m
	files["m.yaml"] = strings.Replace(files["m.yaml"], `"${EMPTY}"`, "pw", 1)
	m, ps = load(t, "m.yaml", files, map[string]string{"IV": "iv"})
	require.Empty(t, ps, ps.Error())
	c := m.Growers[0].Connections[0]
	assert.Equal(t, "${LITERAL}", c.Fields.Value("apid").Reveal(), "$${ escapes a literal ${")
	assert.Equal(t, "k", c.Fields.Value("key").Reveal())
	assert.Equal(t, []string{"m.yaml"}, m.LiteralSecretFiles, "a literal password")
}

// A problem about a reference names the variable or file, never a value.
func TestProblemsNeverShowValues(t *testing.T) {
	const canary = "CANARY-v4lue-91f"
	yaml := `growers:
  - externalId: g1
    email: "` + canary + `"
    connections:
      JohnDeere: {clientKey: "` + canary + `", clientSecret: "` + canary + `", refreshToken: "${file:` + canary + `.missing}", clientEnvironment: PROD}
      Trimble: {clientId: x, clientSecret: "` + canary + `", refreshToken: "` + canary + `", bogus: "` + canary + `"}
`
	_, ps := load(t, "m.yaml", map[string]string{"m.yaml": yaml}, nil)
	require.NotEmpty(t, ps)
	for _, p := range ps {
		if p.Field == "growers[0].email" {
			continue // the email is not a secret and is quoted to show what is wrong with it
		}
		if strings.Contains(p.Message, "file ") {
			continue // a file path is named (the path happens to hold the canary)
		}
		assert.NotContains(t, p.String(), canary)
	}
}

// confinedSource is a mapSource that allows further directories and resolves symbolic links
// (links maps a path to its target).
type confinedSource struct {
	mapSource
	allowed []string
	links   map[string]string
}

func (c confinedSource) AllowedDirs() []string { return c.allowed }

func (c confinedSource) RealPath(name string) (string, error) {
	for from, to := range c.links {
		if rest, ok := strings.CutPrefix(name, from); ok {
			return to + rest, nil
		}
	}
	return name, nil
}

// ${file:} and growersCsv resolve only inside the manifest's directory tree (links resolved),
// or in a directory the user allows.
func TestFileReferencesStayInsideTheManifestTree(t *testing.T) {
	abs, err := filepath.Abs("m")
	require.NoError(t, err)
	manifest := func(ref string) string {
		return "version: 1\ngrowers:\n  - externalId: g1\n    connections:\n      JohnDeere: {refreshToken: \"${file:" + ref + "}\", clientKey: k, clientSecret: s, clientEnvironment: PRODUCTION}\n"
	}
	files := map[string]string{"/etc/passwd": "root:x:0:0", "m/tokens/t": "tok", "/secrets/t": "mounted", "etc/passwd": "x"}
	for _, c := range []struct {
		ref, want string
		allowed   []string
		links     map[string]string
	}{
		{ref: "/etc/passwd", want: "outside the manifest's directory"},
		{ref: "../../../../etc/passwd", want: "outside the manifest's directory"},
		{ref: "tokens/../../etc/passwd", want: "outside the manifest's directory"},
		{ref: "tokens/t", links: map[string]string{filepath.Join(abs, "tokens"): "/etc"}, want: "through a symbolic link"},
		{ref: "tokens/t"},
		{ref: "/secrets/t", allowed: []string{"/secrets"}},
	} {
		files["m/manifest.yaml"] = manifest(c.ref)
		m, ps := Load("m/manifest.yaml", confinedSource{mapSource: mapSource{files: files}, allowed: c.allowed, links: c.links})
		if c.want == "" {
			require.Empty(t, ps, "%s: %s", c.ref, ps.Error())
			assert.NotEqual(t, "root:x:0:0", m.Growers[0].Connections[0].Fields.Value("refreshToken").Reveal())
			continue
		}
		wantProblem(t, ps, "m/manifest.yaml", 5, "growers[0].connections.JohnDeere.refreshToken", c.want)
	}

	_, ps := load(t, "m/manifest.yaml", map[string]string{"m/manifest.yaml": "growersCsv: ../other/g.csv\n", "other/g.csv": "externalId,provider\n"}, nil)
	wantProblem(t, ps, "m/manifest.yaml", 1, "growersCsv", "outside the manifest's directory")
}

// A list or a map where a single value belongs is an error at its line, never a joined string;
// references are refused where they would not be resolved.
func TestScalarFieldsAndReferences(t *testing.T) {
	doc := `growers:
  - externalId: g1
    name: "${GNAME}"
    connections:
      JohnDeere: {refreshToken: rt, clientKey: k, clientSecret: ["${MYSEC}"], clientEnvironment: PRODUCTION}
      AgLeader: {refreshToken: {a: b}, publicKey: p, privateKey: q}
`
	_, ps := load(t, "m.yaml", map[string]string{"m.yaml": doc}, map[string]string{"MYSEC": "s", "GNAME": "n"})
	wantProblem(t, ps, "m.yaml", 5, "growers[0].connections.JohnDeere.clientSecret", "must be a single value, not a list")
	wantProblem(t, ps, "m.yaml", 6, "growers[0].connections.AgLeader.refreshToken", "must be a string")
	wantProblem(t, ps, "m.yaml", 3, "growers[0].name", "references")
}

// CSV headers match in any case; a near miss gets a suggestion, a semicolon file a hint, and
// binary junk is escaped and cut in messages.
func TestCSVHeadersAreForgiving(t *testing.T) {
	m, ps := load(t, "g.csv", map[string]string{"g.csv": "ExternalID,PROVIDER,RefreshToken,clientkey,clientSecret,clientEnvironment\ng1,JohnDeere,rt,k,s,PRODUCTION\n"}, nil)
	require.Empty(t, ps, ps.Error())
	assert.Equal(t, "rt", m.Growers[0].Connections[0].Fields.Value("refreshToken").Reveal())

	_, ps = load(t, "g.csv", map[string]string{"g.csv": "externalId;provider;refreshToken\ng1;JohnDeere;rt\n"}, nil)
	wantProblem(t, ps, "g.csv", 1, "", "comma-separated")

	_, ps = load(t, "g.csv", map[string]string{"g.csv": "externalId,provider,refreshTokn\n"}, nil)
	wantProblem(t, ps, "g.csv", 1, "refreshTokn", `did you mean "refreshToken"?`)

	junk := "\x1b[31m" + strings.Repeat("\x00\xff\x1b]0;pwned\x07", 200)
	_, ps = load(t, "g.csv", map[string]string{"g.csv": "externalId,provider," + junk + "\n"}, nil)
	require.NotEmpty(t, ps)
	for _, p := range ps {
		out := p.String()
		assert.NotContains(t, out, "\x1b", "no raw escape character")
		assert.NotContains(t, out, "\x00")
		assert.Less(t, len(out), 700, "untrusted text is cut")
	}
}

// An unknown provider close to a known one gets a hint; one far from every name does not.
func TestUnknownProviderHint(t *testing.T) {
	yaml := `version: 1
growers:
  - externalId: g1
    connections:
      JohnDeer: {refreshToken: r}
      Nope: {refreshToken: r}
`
	_, ps := load(t, "m.yaml", map[string]string{"m.yaml": yaml}, nil)
	wantProblem(t, ps, "m.yaml", 5, "growers[0].connections.JohnDeer", `unknown provider "JohnDeer" (did you mean JohnDeere?)`)
	wantProblem(t, ps, "m.yaml", 6, "growers[0].connections.Nope", `unknown provider "Nope" (see`)
}
