package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// --failed-rows lists, as a CSV manifest, the growers whose changes did not all succeed, with
// the manifest's references (never the secrets) and why; fixed and fed back, it applies only
// those growers.
func TestFailedRowsCanBeFixedAndFedBack(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("500=1,route=POST /users/{id}/{credential-path}"))
	dir := t.TempDir()
	manifest := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(manifest, []byte(`version: 1
defaults:
  JohnDeere: {clientKey: key, clientSecret: "${JD_SECRET}", clientEnvironment: PRODUCTION}
growers:
  - externalId: g1
    name: "=1+1"
    phone: "+15551234567"
    connections:
      JohnDeere: {refreshToken: "${JD_TOKEN}"}
  - externalId: g2
    name: Fine
  - externalId: g3
    name: Also fine
`), 0o600))
	env := sandboxEnv(ts, map[string]string{"JD_SECRET": "CANARY-jd-secret", "JD_TOKEN": "CANARY-jd-token", "AGL_TOKEN": "CANARY-agl"})
	rows := filepath.Join(dir, "failed.csv")
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--lookup-window", "10ms", "--failed-rows", rows)
	require.Equal(t, exitFailed, code, stderr)
	data := string(mustRead(t, rows))
	assert.NotContains(t, data, "CANARY", "references, never the secrets they name")
	assert.Contains(t, data, "${JD_TOKEN}")
	assert.Contains(t, data, "${JD_SECRET}", "the defaults merged under the connection, as references")
	assert.Contains(t, data, "'=1+1", "spreadsheet-safe")
	assert.Contains(t, data, "leafImportError")
	assert.Contains(t, data, "credential create")
	lines := strings.Split(strings.TrimSpace(data), "\n")
	require.Len(t, lines, 2, "a header and g1's one row:\n%s", data)
	assert.True(t, strings.HasPrefix(lines[1], "g1,JohnDeere,"), lines[1])
	info, err := os.Stat(rows)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// It lists some growers only: --prune would delete the others, and is refused.
	code, _, stderr = runCLI(t, env, "plan", rows, "--rate", "0", "--prune")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "--prune would delete every other one")

	// Leaf works again: the file fed back applies g1's credential, and nothing of g2 or g3.
	require.NoError(t, ts.SetFaults(""))
	ts.ResetStats()
	code, out, stderr := runCLI(t, env, "apply", rows, "--rate", "0", "--failed-rows", rows)
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	assert.Contains(t, out, "+ credential g1/JohnDeere")
	assert.NotContains(t, out, "g3")
	assert.Equal(t, 1, ts.Stats().Mutations.CredentialCreates)
	assert.Len(t, strings.Split(strings.TrimSpace(string(mustRead(t, rows))), "\n"), 1, "nothing failed: the header only")
}

// A manifest rewritten while the run applies it (a nightly export landing) gives no failed rows:
// they would be another version's.
func TestFailedRowsAreNotTakenFromAManifestThatChanged(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("500=1,route=POST /users/{id}/{credential-path}"))
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(2), nil, "")
	ts.HTTP.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_ = os.WriteFile(manifest, append(mustRead(t, manifest), "# rewritten\n"...), 0o600)
		}
		ts.Server.ServeHTTP(w, r)
	})
	rows := filepath.Join(dir, "failed.csv")
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--lookup-window", "10ms", "--failed-rows", rows)
	assert.Equal(t, exitFailed, code, stderr)
	assert.Contains(t, stderr, "changed while the run applied it")
	assert.NoFileExists(t, rows)
}
