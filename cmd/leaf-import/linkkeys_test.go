package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
)

// linkKeysScenario: g1 healthy, g2's credential INVALID with the manifest's token (must
// re-authorize), g3 without any connection, g4 not in Leaf yet.
func linkKeysScenario(t *testing.T) (*sandbox.TestServer, string, map[string]string) {
	ts := sandbox.NewServer(t)
	jd := mustProvider("JohnDeere")
	ids := map[string]string{}
	ids["g1"] = ts.AddUser(&sandbox.User{ExternalID: "g1", Credentials: map[string]*sandbox.Credential{jd.Name: seedCredential(jd, "g1", "")}}).ID
	bad := seedCredential(jd, "g2", "")
	bad.Status = "INVALID"
	ids["g2"] = ts.AddUser(&sandbox.User{ExternalID: "g2", Credentials: map[string]*sandbox.Credential{jd.Name: bad}}).ID
	ids["g3"] = ts.AddUser(&sandbox.User{ExternalID: "g3"}).ID
	manifest := writeManifest(t, t.TempDir(), []growerSpec{{ext: "g1", providers: []string{"JohnDeere"}},
		{ext: "g2", providers: []string{"JohnDeere"}}, {ext: "g3"}, {ext: "g4"}}, nil, "")
	return ts, manifest, ids
}

func readKeys(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	assert.Equal(t, []string{"externalId", "leafUserId", "reason", "key", "expiresAt"}, rows[0])
	return rows[1:]
}

// validKeys counts the valid, unrevoked keys leaf-import issued to a Leaf user.
func validKeys(ts *sandbox.TestServer, userID string) int {
	n := 0
	for _, k := range ts.State().APIKeys {
		if k.LeafUserID == userID && k.RevokedAt == "" && strings.HasPrefix(k.Description, lifecycle.LabelPrefix) {
			n++
		}
	}
	return n
}

// Keys go to exactly the growers who must act, into a 0600 file and nowhere else; a second run
// issues none; --rotate replaces a key and revokes the old one.
func TestLinkKeysIssuesOnceToWhoMustAct(t *testing.T) {
	ts, manifest, ids := linkKeysScenario(t)
	env := sandboxEnv(ts, nil)
	out := filepath.Join(t.TempDir(), "keys.csv")
	code, stdout, stderr := runCLI(t, env, "link-keys", manifest, "--out", out, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "2 issued")
	assert.Contains(t, stdout, "1 grower(s) have no Leaf user yet")
	info, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	rows := readKeys(t, out)
	require.Len(t, rows, 2)
	assert.Equal(t, []string{"g2", ids["g2"], "reauthorize"}, rows[0][:3])
	assert.Equal(t, []string{"g3", ids["g3"], "connect"}, rows[1][:3])
	assert.Equal(t, 1, validKeys(ts, ids["g2"]))
	assert.Zero(t, validKeys(ts, ids["g1"]), "a healthy grower needs no key")

	// No key appears in any other output: logs, the run's report and journal.
	run := lastRun(t, env)
	others := []string{stdout, stderr, string(mustRead(t, run.Report)), string(mustRead(t, run.Journal))}
	for _, r := range rows {
		require.NotEmpty(t, r[3])
		for i, o := range others {
			assert.NotContains(t, o, r[3], "the key of %s leaked into output %d", r[0], i)
		}
	}

	code, stdout, stderr = runCLI(t, env, "link-keys", manifest, "--out", out, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "0 issued")
	assert.Contains(t, stdout, "2 kept")
	assert.Len(t, readKeys(t, out), 2, "a second run issues no key")

	code, stdout, stderr = runCLI(t, env, "link-keys", manifest, "--out", out, "--rate", "0", "--for", "reauthorize", "--rotate")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "1 issued")
	assert.Contains(t, stdout, "1 revoked")
	rows = readKeys(t, out)
	require.Len(t, rows, 3)
	assert.Equal(t, "g2", rows[2][0])
	assert.Equal(t, 1, validKeys(ts, ids["g2"]), "the old key was revoked after the new one was out")
	assert.Equal(t, 1, validKeys(ts, ids["g3"]), "--for reauthorize leaves g3 alone")
}

// link-keys appends only to its own file: a CSV that another program wrote, or a symbolic link,
// is refused before anything is sent, and left as it was (content and mode).
func TestLinkKeysRefusesAForeignOrLinkedOutFile(t *testing.T) {
	ts, manifest, _ := linkKeysScenario(t)
	env := sandboxEnv(ts, nil)
	dir := t.TempDir()
	foreign := filepath.Join(dir, "growers.csv")
	const body = "externalId,provider\ng1,JohnDeere\n"
	require.NoError(t, os.WriteFile(foreign, []byte(body), 0o644))
	other := filepath.Join(dir, "other.csv")
	require.NoError(t, os.WriteFile(other, []byte("mine\n"), 0o644))
	link := filepath.Join(dir, "link.csv")
	require.NoError(t, os.Symlink(other, link))
	for _, c := range []struct{ out, want string }{
		{foreign, "is not a link-keys file"},
		{link, "is a symbolic link"},
		{filepath.Join(dir, "missing", "keys.csv"), "cannot write in"},
	} {
		before := ts.Stats().Requests.Total
		code, _, stderr := runCLI(t, env, "link-keys", manifest, "--out", c.out, "--rate", "0")
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stderr, c.want)
		assert.Equal(t, before, ts.Stats().Requests.Total, "nothing was sent for %s", c.out)
	}
	assert.Equal(t, body, string(mustRead(t, foreign)))
	assert.Equal(t, "mine\n", string(mustRead(t, other)))
	for _, f := range []string{foreign, other} {
		info, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), info.Mode().Perm(), "%s was not chmodded", f)
	}
}

// A run killed between the POST that created a key and the write of its value: the next run
// finds the key by its label, revokes it, and issues a new one.
func TestLinkKeysRecoversAKeyLostInACrash(t *testing.T) {
	ts, manifest, ids := linkKeysScenario(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "keys.csv")
	require.NoError(t, ts.SetFaults("stall-after-commit=1,stall=60s"))
	p := startProc(t, ts, dir, "link-keys", manifest, "--out", out, "--rate", "0", "--for", "reauthorize")
	require.True(t, waitFor(20*time.Second, func() bool { return ts.Stalling() > 0 }), "the key was created and its answer held")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	p.wait(t, 10*time.Second)
	require.Equal(t, 1, validKeys(ts, ids["g2"]), "Leaf holds a key nobody has")
	assert.Empty(t, readKeys(t, out), "its value never reached the file")
	require.NoError(t, ts.SetFaults(""))

	code, stdout, stderr := runCLI(t, sandboxEnv(ts, nil), "link-keys", manifest, "--out", out, "--rate", "0", "--for", "reauthorize",
		"--lookup-window", "100ms")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "1 issued")
	rows := readKeys(t, out)
	require.Len(t, rows, 1)
	assert.Equal(t, 1, validKeys(ts, ids["g2"]), "the lost key was revoked, the new one is valid")
	revoked := 0
	for _, k := range ts.State().APIKeys {
		if k.LeafUserID == ids["g2"] && k.RevokedAt != "" {
			revoked++
			assert.NotEqual(t, rows[0][3], k.Key, "the revoked key is the lost one")
		}
	}
	assert.Equal(t, 1, revoked)
}
