package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// A password in LEAF_API_URL is refused before anything is sent, and is echoed nowhere.
func TestURLWithAPasswordIsRefused(t *testing.T) {
	ts := sandbox.NewServer(t)
	manifest := writeManifest(t, t.TempDir(), growersOneConnection(1), nil, "")
	withSecret := strings.Replace(ts.URL, "http://", "http://user:"+canary+"@", 1)
	for _, cmd := range []string{"plan", "apply"} {
		env := sandboxEnv(ts, map[string]string{"LEAF_API_URL": withSecret})
		code, out, stderr := runCLI(t, env, cmd, manifest, "--rate", "0")
		assert.Equal(t, exitError, code, cmd)
		assert.Contains(t, stderr, "must not carry a username or password")
		assert.Contains(t, stderr, "LEAF_USERNAME")
		assertNoCanary(t, cmd+" output", out+stderr)
	}
	assert.Zero(t, ts.Stats().Requests.Total, "nothing was sent")
	assert.Empty(t, runsOf(t, sandboxEnv(ts, nil)))
}

// LEAF_PASSWORD_FILE and LEAF_TOKEN_FILE read the secret from a file (Kubernetes and Docker
// secrets); a missing password is named before any request.
func TestCredentialsFromFilesAndAMissingPassword(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(1), nil, "")
	pwFile := filepath.Join(dir, "password")
	require.NoError(t, os.WriteFile(pwFile, []byte("sandbox\n"), 0o600))
	env := sandboxEnv(ts, nil)
	delete(env, "LEAF_PASSWORD")

	code, _, stderr := runCLI(t, env, "plan", manifest, "--rate", "0")
	assert.Equal(t, exitAuth, code)
	assert.Contains(t, stderr, "LEAF_USERNAME is set but LEAF_PASSWORD is not")
	assert.Zero(t, ts.Stats().Requests.Total, "no request that fails with 401")

	env["LEAF_PASSWORD_FILE"] = pwFile
	code, _, stderr = runCLI(t, env, "plan", manifest, "--rate", "0")
	assert.Equal(t, 0, code, stderr)

	env["LEAF_PASSWORD"] = "sandbox"
	code, _, stderr = runCLI(t, env, "plan", manifest, "--rate", "0")
	assert.Equal(t, exitAuth, code, "both set is ambiguous")
	assert.Contains(t, stderr, "set one")

	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(sandboxToken(t, ts)+"\n"), 0o600))
	tokenEnv := map[string]string{"LEAF_API_URL": ts.URL, "LEAF_TOKEN_FILE": tokenFile, "LEAF_IMPORT_STATE_DIR": stateDirOf(ts)}
	code, _, stderr = runCLI(t, tokenEnv, "apply", manifest, "--rate", "0")
	assert.Equal(t, 0, code, "the token file's subject names the account: %s", stderr)
	tokenEnv["LEAF_TOKEN_FILE"] = filepath.Join(dir, "missing")
	code, _, stderr = runCLI(t, tokenEnv, "plan", manifest, "--rate", "0")
	assert.Equal(t, exitAuth, code)
	assert.Contains(t, stderr, "LEAF_TOKEN_FILE: cannot read")
}

// Every file leaf-import writes is private, a saved plan included, whatever the umask.
func TestSavedPlanIsPrivateAndReportNamesAreChecked(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(1), nil, "")
	out := filepath.Join(dir, "plan.json")
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "plan", manifest, "--rate", "0", "--out", out)
	require.Equal(t, 0, code, stderr)
	info, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	code, _, stderr = runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--report", filepath.Join(dir, "r.txt"))
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "--report")
	assert.Contains(t, stderr, ".json or .csv")
	assert.Zero(t, ts.Stats().Mutations.UserCreates, "nothing was applied")
}
