package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/planview"
)

// canary marks secret values; no output may contain it.
const canary = "CANARY-f00d"

// canaryManifest writes a manifest in which every secret of every provider, and of every app,
// holds a canary value (literal, from the environment or from a file).
func canaryManifest(t *testing.T, growers int) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{}
	var b strings.Builder
	b.WriteString("version: 1\napps:\n")
	for _, p := range leaf.Providers() {
		if p.AppKey == nil {
			continue
		}
		fmt.Fprintf(&b, "  - provider: %s\n    appName: acme\n", p.Name)
		if p.AppKey.WithEnvironment {
			b.WriteString("    clientEnvironment: PRODUCTION\n")
		}
		for _, f := range p.AppKey.Required {
			fmt.Fprintf(&b, "    %s: %s-app-%s-%s\n", f, canary, p.Name, f)
		}
	}
	b.WriteString("growers:\n")
	for i := range growers {
		fmt.Fprintf(&b, "  - externalId: grower-%04d\n    name: Grower %d\n    connections:\n", i, i)
		for j, p := range leaf.Providers() {
			fmt.Fprintf(&b, "      %s:\n", p.Name)
			for _, f := range p.Required {
				v := fmt.Sprintf("%s-%s-%s-%d", canary, p.Name, f, i)
				switch {
				case f == leaf.FieldClientEnvironment:
					v = "STAGE"
				case !p.IsSecret(f):
					v = fmt.Sprintf("id-%s-%d", f, i)
				case j%3 == 1:
					name := fmt.Sprintf("SECRET_%d_%d_%s", i, j, f)
					env[name] = v
					v = "${" + name + "}"
				case j%3 == 2:
					file := fmt.Sprintf("secret-%d-%d-%s", i, j, f)
					require.NoError(t, os.WriteFile(filepath.Join(dir, file), []byte(v+"\n"), 0o600))
					v = "${file:" + file + "}"
				}
				fmt.Fprintf(&b, "        %s: %q\n", f, v)
			}
		}
	}
	path := filepath.Join(dir, "manifest.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path, env
}

func assertNoCanary(t *testing.T, where, s string) {
	t.Helper()
	assert.NotContains(t, s, canary, "a secret reached %s", where)
}

func TestPlanNeverShowsSecrets(t *testing.T) {
	manifest, env := canaryManifest(t, 3)
	ts := sandbox.NewServer(t)
	// Leaf already holds grower-0000 with different secret values, so that the plan must show
	// changed secrets (as fingerprints).
	u := &sandbox.User{ExternalID: "grower-0000", Credentials: map[string]*sandbox.Credential{}}
	for _, p := range leaf.Providers() {
		fields := map[string]string{}
		for _, f := range p.Required {
			fields[f] = fmt.Sprintf("%s-old-%s", canary, f)
			if f == leaf.FieldClientEnvironment {
				fields[f] = "STAGE"
			}
			if !p.IsSecret(f) {
				fields[f] = "id-" + f + "-0"
			}
		}
		u.Credentials[p.Name] = &sandbox.Credential{Status: "INVALID", Fields: fields}
	}
	ts.AddUser(u)
	e := sandboxEnv(ts, env)
	delete(e, "LEAF_IMPORT_FINGERPRINT_KEY")
	out := filepath.Join(t.TempDir(), "plan.json")

	code, stdout, stderr := runCLI(t, e, "plan", manifest, "--rate", "0", "--out", out, "-v")
	require.Equal(t, 0, code, stderr)
	assertNoCanary(t, "plan text", stdout)
	assertNoCanary(t, "logs", stderr)
	assert.Contains(t, stdout, "fp:", "changed secrets show as fingerprints")
	saved, err := os.ReadFile(out)
	require.NoError(t, err)
	assertNoCanary(t, "the saved plan", string(saved))

	code, stdout, stderr = runCLI(t, e, "plan", manifest, "--rate", "0", "--format", "json", "--log-format", "json", "-v")
	require.Equal(t, 0, code)
	assertNoCanary(t, "plan JSON", stdout)
	assertNoCanary(t, "JSON logs", stderr)

	// Broken manifests: problems name places, never values.
	bad := strings.Replace(string(mustRead(t, manifest)), "name: Grower 1", "name: Grower 1\n    bogus: x", 1)
	badPath := filepath.Join(filepath.Dir(manifest), "bad.yaml")
	require.NoError(t, os.WriteFile(badPath, []byte(bad), 0o644))
	delete(e, "SECRET_1_1_clientSecret")
	for _, args := range [][]string{{"validate", badPath}, {"validate", badPath, "--format", "json"}, {"plan", badPath}} {
		code, stdout, stderr = runCLI(t, e, args...)
		assert.Equal(t, 1, code)
		assertNoCanary(t, strings.Join(args, " "), stdout+stderr)
		assert.Contains(t, stdout+stderr, "SECRET_1_1_clientSecret is not set")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestPlanSavesAReviewablePlan(t *testing.T) {
	ts := sandboxFor(t, "../../testdata/plan/credentials")
	c := readGoldenCase(t, "../../testdata/plan/credentials")
	out := filepath.Join(t.TempDir(), "plan.json")
	code, _, stderr := runCLI(t, sandboxEnv(ts, c.env), "plan", "--out", out, "../../testdata/plan/credentials/manifest.yaml", "--rate", "0")
	require.Equal(t, 0, code, stderr)
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	v, err := planview.ReadSaved(f)
	require.NoError(t, err)
	assert.Equal(t, ts.URL, v.LeafURL)
	assert.Equal(t, "sandbox", v.Account)
	assert.True(t, strings.HasPrefix(v.ManifestDigest, "sha256:"))
	assert.NotEmpty(t, v.CreatedAt)
	require.Len(t, v.Changes, 6)
	for _, ch := range v.Changes {
		assert.Len(t, ch.Base, 16, "every change records the digest of its Leaf object")
		assert.NotEmpty(t, ch.ID)
	}
	raw := string(mustRead(t, out))
	for _, secret := range []string{"golden-agl-private", "new-password", "new-sub-key", "golden-valley-password"} {
		assert.NotContains(t, raw, secret)
	}
}

func TestPlanReadsStateInPagesNotPerGrower(t *testing.T) {
	ts := sandbox.NewServer(t)
	var b strings.Builder
	b.WriteString("version: 1\napps:\n  - {provider: AgLeader, appName: a, publicKey: p, privateKey: k}\ngrowers:\n")
	for i := range 250 {
		ts.AddUser(&sandbox.User{ExternalID: fmt.Sprintf("g-%03d", i), Name: "n"})
		fmt.Fprintf(&b, "  - {externalId: g-%03d, name: n}\n", i)
	}
	path := filepath.Join(t.TempDir(), "m.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	code, out, _ := runCLI(t, sandboxEnv(ts, nil), "plan", path, "--rate", "0")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "250 unchanged")
	st := ts.Stats()
	assert.Equal(t, 1, st.Requests.Auth)
	assert.Equal(t, 3, st.Requests.ByRoute["GET /users"], "ceil(250/100) pages")
	assert.Equal(t, 1, st.Requests.ByRoute["GET /app-keys/{p}"])
	assert.Equal(t, 5, st.Requests.Total, "one authentication, three pages, one app read")
}

func TestPlanExitCodes(t *testing.T) {
	ts := sandboxFor(t, "../../testdata/plan/update")
	m := "../../testdata/plan/update/manifest.yaml"
	env := sandboxEnv(ts, nil)

	code, _, _ := runCLI(t, env, "plan", m, "--rate", "0")
	assert.Equal(t, 0, code, "changes without --detailed-exitcode")
	code, _, _ = runCLI(t, env, "plan", "--detailed-exitcode", "--rate", "0", m)
	assert.Equal(t, 2, code, "flags before the manifest")

	bad := sandboxEnv(ts, map[string]string{"LEAF_PASSWORD": "wrong"})
	code, _, stderr := runCLI(t, bad, "plan", m)
	assert.Equal(t, 4, code, stderr)
	assert.Contains(t, stderr, "authentication failed")

	code, _, stderr = runCLI(t, map[string]string{"LEAF_API_URL": "http://leaf.example.com", "LEAF_TOKEN": "t"}, "plan", m)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "https://")

	for _, args := range [][]string{
		{"plan"}, {"plan", m, "extra"}, {"plan", m, "--max-deletes", "lots"}, {"plan", m, "--rate", "-1"},
		{"plan", m, "--format", "yaml"}, {"plan", m, "--no-such-flag"}, {"plan", m, "--log-format", "xml"},
	} {
		code, _, stderr := runCLI(t, env, args...)
		assert.Equal(t, 1, code, "%v: %s", args, stderr)
	}
}

func TestPlanSendsNothingForAnInvalidManifestOrAFailedRead(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("externalId,provider,refershToken\ng1,JohnDeere,x\n"), 0o600))
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "plan", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `bad.csv:1: refershToken: unknown column "refershToken"`)
	assert.Zero(t, ts.Stats().Requests.Total, "nothing was sent")

	good := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(good, []byte("version: 1\napps:\n  - {provider: AgLeader, appName: a, publicKey: p, privateKey: k}\ngrowers: []\n"), 0o600))
	ts.AddUser(&sandbox.User{ExternalID: "old"})
	ts.HTTP.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/app-keys/") {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		ts.Server.ServeHTTP(w, r)
	})
	code, _, stderr = runCLI(t, sandboxEnv(ts, nil), "plan", good, "--prune", "--max-deletes", "100%", "--rate", "0")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "reading Leaf state")
	assert.Contains(t, stderr, "502")
}

func TestValidateCommand(t *testing.T) {
	code, out, _ := runCLI(t, nil, "validate", "../../testdata/plan/update/manifest.csv")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "is valid: 3 growers, 0 connections, 0 apps")

	dir := t.TempDir()
	bad := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: 1\ngrowers:\n  - externalId: g1\n    email: nope\n  - externalId: g1\n"), 0o600))
	code, out, _ = runCLI(t, nil, "validate", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, bad+":4: growers[0].email:")
	assert.Contains(t, out, bad+`:5: growers[1].externalId: duplicate externalId "g1" (first defined at `+bad+":3)")
	assert.Contains(t, out, "2 problem(s)")

	code, out, _ = runCLI(t, nil, "validate", bad, "--format", "json")
	assert.Equal(t, 1, code)
	var v struct {
		Valid    bool
		Problems []manifest.Problem
	}
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	assert.False(t, v.Valid)
	require.Len(t, v.Problems, 2)
	assert.Equal(t, manifest.Problem{File: bad, Line: 4, Field: "growers[0].email", Message: `"nope" is not a valid email address`}, v.Problems[0])
}

func TestLiteralSecretsInAReadableManifestAreWarnedAbout(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.yaml")
	body := "version: 1\ngrowers:\n  - externalId: g1\n    connections:\n      AgLeader: {refreshToken: literal-token, publicKey: p, privateKey: literal-key}\n"
	require.NoError(t, os.WriteFile(m, []byte(body), 0o644))
	code, _, stderr := runCLI(t, nil, "validate", m)
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "holds literal secrets and is readable by group or others")
	require.NoError(t, os.Chmod(m, 0o600))
	_, _, stderr = runCLI(t, nil, "validate", m)
	assert.NotContains(t, stderr, "literal secrets")
}

// plan --out writes the plan shown and the plan saved in one pass: the saved plan lists its
// changes before its summary and is read back like any saved plan; a plan whose valve trips is
// shown but not saved.
func TestPlanOutIsOnePassAndKeptOnlyWhenTheValvesPass(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(5), nil, "")
	env := sandboxEnv(ts, nil)
	planPath := filepath.Join(dir, "plan.json")

	code, out, stderr := runCLI(t, env, "plan", manifest, "--rate", "0", "--out", planPath, "--max-changes", "3")
	assert.Equal(t, exitError, code, stderr)
	assert.Contains(t, out, "Plan: 10 to create", "the plan is shown")
	assert.Contains(t, stderr, "--max-changes")
	assert.NoFileExists(t, planPath, "a plan over its valve is not saved")

	code, out, stderr = runCLI(t, env, "plan", manifest, "--rate", "0", "--out", planPath)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Plan: 10 to create")
	data, err := os.ReadFile(planPath)
	require.NoError(t, err)
	var saved map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &saved))
	assert.Less(t, bytes.Index(data, []byte(`"changes"`)), bytes.Index(data, []byte(`"summary"`)), "changes first")
	v, err := planview.ReadSaved(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Len(t, v.Changes, 10)
	assert.Equal(t, 10, v.Summary.Create)

	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--plan", planPath)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 5, ts.Stats().Mutations.UserCreates)
}
