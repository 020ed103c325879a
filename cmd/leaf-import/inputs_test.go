package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// A hostile manifest cannot read files outside its directory tree: not by an absolute path, not
// by "..", not through a symbolic link. --allow-file-dir names a further directory. Nothing is
// sent while such a reference stands.
func TestFileReferencesCannotEscape(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	require.NoError(t, os.WriteFile(secret, []byte(canary), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "tokens")))
	write := func(ref string) string {
		m := filepath.Join(dir, "manifest.yaml")
		require.NoError(t, os.WriteFile(m, []byte("version: 1\ngrowers:\n  - externalId: g1\n    connections:\n"+
			"      JohnDeere: {refreshToken: \"${file:"+ref+"}\", clientKey: k, clientSecret: s, clientEnvironment: PRODUCTION}\n"), 0o600))
		return m
	}
	for _, ref := range []string{"/etc/passwd", "../../../../../../etc/passwd", secret, "tokens/secret"} {
		m := write(ref)
		for _, args := range [][]string{{"validate", m}, {"apply", m, "--rate", "0"}} {
			code, out, stderr := runCLI(t, sandboxEnv(ts, nil), args...)
			assert.Equal(t, exitError, code, "%s %s", args[0], ref)
			assert.Contains(t, out+stderr, "manifest.yaml:5", "located at the connection's line")
			assert.Contains(t, out+stderr, "outside the manifest's directory", ref)
			assertNoCanary(t, "output", out+stderr)
		}
	}
	assert.Zero(t, ts.Stats().Requests.Total, "nothing was sent")

	m := write("tokens/secret")
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", m, "--rate", "0", "--allow-file-dir", outside)
	require.Equal(t, 0, code, stderr)
	u := ts.State().Users
	require.Len(t, u, 1)
	assert.Equal(t, canary, u[0].Credentials["JohnDeere"].Fields["refreshToken"], "an allowed directory is read")
}

// A FIFO inside the manifest's directory (or a device) is refused at once as a located problem,
// never opened for reading: validate and apply do not hang, and nothing is sent.
func TestFileReferencesReadOnlyRegularFiles(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	for _, ref := range []string{"fifo", "/dev/zero"} {
		m := filepath.Join(dir, "manifest.yaml")
		require.NoError(t, os.WriteFile(m, []byte("version: 1\ngrowers:\n  - externalId: g1\n    connections:\n"+
			"      JohnDeere: {refreshToken: \"${file:"+ref+"}\", clientKey: k, clientSecret: s, clientEnvironment: PRODUCTION}\n"), 0o600))
		for _, args := range [][]string{{"validate", m, "--allow-file-dir", "/dev"}, {"apply", m, "--rate", "0", "--allow-file-dir", "/dev"}} {
			done := make(chan struct{})
			var code int
			var out, stderr string
			go func() {
				defer close(done)
				code, out, stderr = runCLI(t, sandboxEnv(ts, nil), args...)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s of ${file:%s} hangs", args[0], ref)
			}
			assert.Equal(t, exitError, code, "%s %s", args[0], ref)
			assert.Contains(t, out+stderr, "manifest.yaml:5", "located at the connection's line")
			assert.Contains(t, out+stderr, "is not a regular file", ref)
		}
	}
	assert.Zero(t, ts.Stats().Requests.Total, "nothing was sent")
}
