package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// Every output path is checked before the first request: a path that cannot be written exits 1
// naming the flag and the path, with nothing sent and nothing left behind.
func TestOutputPathsAreCheckedBeforeAnythingIsSent(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(2), nil, "")
	notADir := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(notADir, []byte("x"), 0o600))
	env := sandboxEnv(ts, nil)
	for _, c := range []struct {
		name string
		args []string
		flag string
	}{
		{"apply --report in a missing directory", []string{"apply", manifest, "--report", filepath.Join(dir, "missing", "rep.json")}, "--report"},
		{"apply --report under a file", []string{"apply", manifest, "--report", filepath.Join(notADir, "rep.csv")}, "--report"},
		{"apply --report naming a directory", []string{"apply", manifest, "--report", filepath.Join(dir, "d.json")}, "--report"},
		{"apply --journal", []string{"apply", manifest, "--journal", filepath.Join(dir, "missing", "j.jsonl")}, "--journal"},
		{"apply --metrics-file", []string{"apply", manifest, "--metrics-file", filepath.Join(dir, "missing", "m.prom")}, "--metrics-file"},
		{"plan --out", []string{"plan", manifest, "--out", filepath.Join(dir, "missing", "plan.json")}, "--out"},
		{"status --metrics-file", []string{"status", "--metrics-file", filepath.Join(notADir, "s.prom")}, "--metrics-file"},
		{"export --out under a file", []string{"export", "--out", filepath.Join(notADir, "account")}, "--out"},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "d.json"), 0o700))
			before := ts.Stats().Requests.Total
			code, _, stderr := runCLI(t, env, append(c.args, "--rate", "0")...)
			assert.Equal(t, 1, code, stderr)
			assert.Contains(t, stderr, c.flag+" ")
			assert.Contains(t, stderr, "nothing was sent to Leaf")
			assert.Equal(t, before, ts.Stats().Requests.Total, "nothing was sent")
		})
	}
	assert.Empty(t, ts.State().Users, "no grower was created")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".check-", "no probe file is left behind")
	}
}

// A --report copy that cannot be written at the end (its directory removed during the run) is
// reported as such, pointing to the run's report in the workspace, which exists.
func TestAReportCopyThatFailsNamesTheWorkspaceReport(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(2), nil, "")
	out := filepath.Join(dir, "out")
	require.NoError(t, os.Mkdir(out, 0o700))
	env := sandboxEnv(ts, nil)
	ts.HTTP.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_ = os.RemoveAll(out) // the copy's directory goes away while the run works
		}
		ts.Server.ServeHTTP(w, r)
	})
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--report", filepath.Join(out, "rep.json"))
	assert.Equal(t, 3, code, stderr)
	assert.Contains(t, stderr, "its report could not be written")
	assert.NotContains(t, stderr, "0 change(s) failed")
	run := lastRun(t, env)
	assert.Contains(t, stderr, run.Report)
	assert.FileExists(t, run.Report)
}

// A Leaf that cannot be reached, or a URL with a wrong path, is said to be so with exit 1 (not
// an authentication failure), naming the URL; the password is not redacted over the words
// that contain it.
func TestAnUnreachableOrWrongURLIsNamed(t *testing.T) {
	ts := sandbox.NewServer(t)
	manifest := writeManifest(t, t.TempDir(), growersOneConnection(1), nil, "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + l.Addr().String()
	require.NoError(t, l.Close())

	code, _, stderr := runCLI(t, sandboxEnv(ts, map[string]string{"LEAF_API_URL": closed}), "apply", manifest, "--rate", "0")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "cannot reach Leaf at "+closed)
	assert.Contains(t, stderr, "connection refused")

	wrong := ts.URL + "/sandbox/v2"
	code, _, stderr = runCLI(t, sandboxEnv(ts, map[string]string{"LEAF_API_URL": wrong}), "plan", manifest, "--rate", "0")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "Leaf answered 404 at "+wrong+"/api/authenticate: check LEAF_API_URL")
	assert.NotContains(t, stderr, "[redacted]", "the password \"sandbox\" is not redacted inside the URL")
	assert.NotContains(t, stderr, "authentication failed")
}
