package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/planview"
)

// exportAccount builds the mixed account export is tried on: every provider (16 new growers
// cycle through all 14), apps, an updated and a repaired grower, configs on some users, two
// users sharing an externalId and a user without one.
func exportAccount(t *testing.T) (*sandbox.TestServer, map[string]string) {
	t.Helper()
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := mixedScenario(t, ts, dir, 16)
	env := sandboxEnv(ts, nil)
	code, out, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	st := ts.State()
	for i, u := range st.Users {
		switch i % 3 {
		case 0:
			u.Config = map[string]any{"fieldsAutoSync": false, "geoimagesShape": "ROUND", "fieldsAttachIntersection": 0.05,
				"geoimagesColorRamp": map[string]any{"0%": []any{1.0, 2.0, 3.0}}}
		case 1:
			u.Config = map[string]any{"operationsAutoSync": true}
		}
	}
	require.NoError(t, ts.LoadState(st))
	ts.AddUser(&sandbox.User{ExternalID: "twice", Name: "A"})
	ts.AddUser(&sandbox.User{ExternalID: "twice", Name: "B"})
	return ts, env
}

// readTree reads every file under dir, by path relative to it.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return out
}

func TestExportRoundTrips(t *testing.T) {
	ts, env := exportAccount(t)
	providers := map[string]bool{}
	for _, u := range ts.State().Users {
		for p := range u.Credentials {
			providers[p] = true
		}
	}
	require.Len(t, providers, len(leaf.Providers()), "the account holds every provider")

	for _, c := range []struct {
		name string
		args []string
	}{
		{"yaml", nil},
		{"csv", []string{"--format", "csv"}},
		{"yaml-with-secrets", []string{"--with-secrets"}},
		{"csv-with-secrets", []string{"--format", "csv", "--with-secrets"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "account")
			args := append([]string{"export", "--out", dir, "--rate", "0"}, c.args...)
			code, out, stderr := runCLI(t, env, args...)
			require.Equal(t, 6, code, "the conflict and the user without externalId cannot be expressed: %s", stderr)
			assert.Contains(t, out, "Exported 20 grower(s)")
			assert.Contains(t, out, "and 3 app(s)")
			assert.Contains(t, stderr, `not exported: externalId "twice": 2 Leaf users carry it`)
			assert.Contains(t, stderr, `not exported: user`)
			assert.Contains(t, stderr, `"not managed"`)
			files := readTree(t, dir)
			if os.Getenv("LEAF_IMPORT_TEST_SHOW_EXPORT") != "" {
				t.Logf("%s", files["manifest.yaml"]+files["growers.csv"])
			}
			assert.Contains(t, files["not-exported.txt"], `externalId "twice"`)
			secrets := 0
			for name := range files {
				if strings.HasPrefix(name, "secrets/") {
					secrets++
					info, err := os.Stat(filepath.Join(dir, name))
					require.NoError(t, err)
					assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), name)
				}
			}
			if strings.HasSuffix(c.name, "with-secrets") {
				assert.Positive(t, secrets)
			} else {
				assert.Zero(t, secrets)
				for name, text := range files {
					for _, u := range ts.State().Users {
						for _, cr := range u.Credentials {
							if tok := cr.Fields["refreshToken"]; tok != "" {
								assert.NotContains(t, text, tok, "%s holds no secret", name)
							}
						}
					}
				}
			}

			// The round trip: a plan of the export changes nothing.
			code, out, stderr = runCLI(t, env, "plan", filepath.Join(dir, "manifest.yaml"), "--rate", "0", "--detailed-exitcode", "--refresh-config")
			require.Equal(t, 0, code, "%s\n%s", out, stderr)
			assert.Contains(t, out, "No changes")

			// Byte-stable: a second export of the unchanged account writes the same bytes.
			code, _, _ = runCLI(t, env, args...)
			require.Equal(t, 6, code)
			assert.Equal(t, files, readTree(t, dir))
		})
	}
}

func TestExportKeptSecretIsRefusedWhenAChangeMustSendIt(t *testing.T) {
	ts, env := exportAccount(t)
	dir := filepath.Join(t.TempDir(), "account")
	code, _, stderr := runCLI(t, env, "export", "--out", dir, "--rate", "0")
	require.Equal(t, 6, code, stderr)

	// Someone deletes grower-0001's John Deere credential: re-creating it needs its secrets.
	st := ts.State()
	for _, u := range st.Users {
		if u.ExternalID == "grower-0001" {
			delete(u.Credentials, "JohnDeere")
		}
	}
	require.NoError(t, ts.LoadState(st))
	ts.ResetStats()
	manifest := filepath.Join(dir, "manifest.yaml")
	code, out, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	assert.Equal(t, 1, code, out)
	assert.Regexp(t, `manifest\.yaml:\d+: grower-0001/JohnDeere\.clientSecret: clientSecret is \$\{keep\}.*creates the credential`, stderr)
	assert.Contains(t, stderr, "supply the value")
	assert.Zero(t, mutations(ts.Stats()), "nothing was sent")

	// A JSON plan learns the refusal as it is written: it is printed whole, and the plan exits 1;
	// a saved plan is not kept.
	saved := filepath.Join(t.TempDir(), "saved.json")
	code, out, stderr = runCLI(t, env, "plan", manifest, "--rate", "0", "--format", "json", "--out", saved)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "grower-0001/JohnDeere.clientSecret")
	var shown planview.View
	require.NoError(t, json.Unmarshal([]byte(out), &shown), "the JSON plan is whole")
	assert.Equal(t, 1, shown.Summary.Create)
	assert.NoFileExists(t, saved)

	// --update-apps must send every app's kept secrets.
	code, _, stderr = runCLI(t, env, "plan", manifest, "--rate", "0", "--update-apps", "--only", "grower-0002")
	assert.Equal(t, 0, code, "--only leaves the apps out: %s", stderr)
	code, _, stderr = runCLI(t, env, "plan", manifest, "--rate", "0", "--update-apps", "--kind", "app")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "re-sends the app")
}

func TestExportSelectionAndUntrustedNames(t *testing.T) {
	ts := sandbox.NewServer(t)
	agl, _ := leaf.LookupProvider("AgLeader")
	jd, _ := leaf.LookupProvider("JohnDeere")
	ts.AddUser(&sandbox.User{ExternalID: "../../etc/passwd", Name: "${HOME}", Credentials: map[string]*sandbox.Credential{
		"AgLeader": seedCredential(agl, "x", ""), "JohnDeere": seedCredential(jd, "x", "")}})
	ts.AddUser(&sandbox.User{ExternalID: "other", Name: "Other"})
	env := sandboxEnv(ts, nil)
	dir := filepath.Join(t.TempDir(), "account")
	code, out, stderr := runCLI(t, env, "export", "--out", dir, "--rate", "0", "--with-secrets", "--provider", "AgLeader")
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	files := readTree(t, dir)
	for name := range files {
		assert.True(t, name == "manifest.yaml" || strings.HasPrefix(name, "secrets/g-.._.._etc_passwd-"), "no path escapes: %s", name)
	}
	m := files["manifest.yaml"]
	assert.Contains(t, m, "name: $${HOME}", "a value that reads like a reference is escaped")
	assert.NotContains(t, m, "JohnDeere")
	assert.NotContains(t, m, "other", "--provider exports the growers holding the provider")

	code, out, stderr = runCLI(t, env, "plan", filepath.Join(dir, "manifest.yaml"), "--rate", "0", "--provider", "AgLeader", "--detailed-exitcode")
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
}

// Secrets stay out of export's output and manifest: in no file at all by default, and only in
// the 0600 files under secrets/ with --with-secrets.
func TestExportKeepsSecretsOutOfItsOutput(t *testing.T) {
	manifest, extra := canaryManifest(t, 2)
	ts := sandbox.NewServer(t)
	env := sandboxEnv(ts, extra)
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)

	dir := filepath.Join(t.TempDir(), "plain")
	code, out, stderr := runCLI(t, env, "export", "--out", dir, "--rate", "0", "--format", "csv")
	require.Equal(t, 0, code, stderr)
	assertNoCanary(t, "export output", out+stderr)
	for name, text := range readTree(t, dir) {
		assertNoCanary(t, name, text)
	}

	dir = filepath.Join(t.TempDir(), "with")
	code, out, stderr = runCLI(t, env, "export", "--out", dir, "--rate", "0", "--with-secrets")
	require.Equal(t, 0, code, stderr)
	assertNoCanary(t, "export output", out+stderr)
	held := 0
	for name, text := range readTree(t, dir) {
		if strings.HasPrefix(name, "secrets/") {
			held += strings.Count(text, canary)
			continue
		}
		assertNoCanary(t, name, text)
	}
	assert.Positive(t, held, "the secrets Leaf returns are in the secret files")
	code, out, stderr = runCLI(t, env, "plan", filepath.Join(dir, "manifest.yaml"), "--rate", "0", "--detailed-exitcode")
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
}

// Export never writes through a symbolic link in its output directory: a secrets link to
// another directory is refused with nothing written there, and so is a link in the file's place.
func TestExportRefusesSymbolicLinksInItsDirectory(t *testing.T) {
	manifest, extra := canaryManifest(t, 2)
	ts := sandbox.NewServer(t)
	env := sandboxEnv(ts, extra)
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)

	dir, elsewhere := t.TempDir(), t.TempDir()
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(dir, "secrets")))
	code, _, stderr = runCLI(t, env, "export", "--out", dir, "--rate", "0", "--with-secrets")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "a symbolic link")
	assertNoCanary(t, "stderr", stderr)
	left, err := os.ReadDir(elsewhere)
	require.NoError(t, err)
	assert.Empty(t, left, "nothing was written through the link")

	dir = t.TempDir()
	target := filepath.Join(elsewhere, "target.yaml")
	require.NoError(t, os.WriteFile(target, []byte("mine\n"), 0o644))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "manifest.yaml")))
	code, _, stderr = runCLI(t, env, "export", "--out", dir, "--rate", "0")
	assert.Equal(t, 1, code, stderr)
	assert.Equal(t, "mine\n", string(mustRead(t, target)))
}
