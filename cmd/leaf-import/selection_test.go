package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// bigAccount seeds n users g00000.. with an AgLeader credential each, and writes a manifest
// that renames every one of them (n changes when nothing is selected).
func bigAccount(t *testing.T, ts *sandbox.TestServer, dir string, n int) string {
	t.Helper()
	agl, _ := leaf.LookupProvider("AgLeader")
	st := ts.State()
	var b strings.Builder
	b.WriteString("version: 1\ndefaults:\n  AgLeader: {publicKey: p, privateKey: k}\ngrowers:\n")
	for i := range n {
		ext := fmt.Sprintf("g%05d", i)
		cred := seedCredential(agl, ext, "")
		cred.ID, cred.Status, cred.CreatedTime = fmt.Sprintf("c%07d", i), "OK", "2026-01-01T00:00:00.000000Z"
		st.Users = append(st.Users, &sandbox.User{ID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i+1), ExternalID: ext, Name: "Old",
			Credentials: map[string]*sandbox.Credential{"AgLeader": cred}})
		fmt.Fprintf(&b, "  - externalId: %s\n    name: New\n    connections:\n      AgLeader: {refreshToken: %s}\n", ext, credValues(agl, ext, "", "")["refreshToken"])
	}
	st.Seq = uint64(n + 1)
	require.NoError(t, ts.LoadState(st))
	path := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

func userReads(st sandbox.Stats) int {
	return st.Requests.ByRoute["GET /users"] + st.Requests.ByRoute["GET /users?externalId"]
}

func TestOnlyReadsItsOwnUsers(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := bigAccount(t, ts, dir, 10000)
	env := sandboxEnv(ts, nil)

	ts.ResetStats()
	code, out, stderr := runCLI(t, env, "plan", manifest, "--rate", "0", "--only", "g00007,g04242", "--only", "g09999")
	require.Equal(t, 0, code, stderr)
	st := ts.Stats()
	assert.LessOrEqual(t, userReads(st), 3, "three user reads, not 100 pages")
	assert.Equal(t, st.Requests.Total, userReads(st)+st.Requests.Auth, "nothing else is read: %v", st.Requests.ByRoute)
	assert.Contains(t, out, "Selection in effect (3 grower(s))")
	assert.Contains(t, out, "Plan: 0 to create, 3 to update")
	for _, ext := range []string{"g00007", "g04242", "g09999"} {
		assert.Contains(t, out, "~ user "+ext)
	}

	// --only-file, and apply: only the three change.
	listFile := filepath.Join(dir, "only.txt")
	require.NoError(t, os.WriteFile(listFile, []byte("# three growers\ng00007\n\ng04242\ng09999\n"), 0o600))
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--only-file", listFile)
	require.Equal(t, 0, code, stderr)
	renamed := 0
	for _, u := range ts.State().Users {
		if u.Name == "New" {
			renamed++
		}
	}
	assert.Equal(t, 3, renamed)
}

func TestSelectionKeepsPruneInside(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	jd, _ := leaf.LookupProvider("JohnDeere")
	agl, _ := leaf.LookupProvider("AgLeader")
	for _, ext := range []string{"keep-1", "gone-1", "gone-2"} {
		ts.AddUser(&sandbox.User{ExternalID: ext, Name: ext, Credentials: map[string]*sandbox.Credential{
			"JohnDeere": seedCredential(jd, ext, ""), "AgLeader": seedCredential(agl, ext, "")}})
	}
	// The manifest names keep-1 with no connection at all: --prune would delete both of its
	// credentials, and the users gone-1 and gone-2.
	manifest := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(manifest, []byte("version: 1\ngrowers:\n  - {externalId: keep-1, name: keep-1}\n"), 0o600))
	env := sandboxEnv(ts, nil)

	code, out, stderr := runCLI(t, env, "plan", manifest, "--rate", "0", "--prune", "--max-deletes", "100%")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "0 to update, 0 to replace, 4 to delete", "without a selection: 2 users and 2 credentials")

	code, out, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--prune", "--max-deletes", "100%", "--only", "gone-1")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "- user gone-1")
	assert.NotContains(t, out, "gone-2")
	assert.NotContains(t, out, "keep-1")

	code, out, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--prune", "--max-deletes", "100%", "--provider", "JohnDeere")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "- credential keep-1/JohnDeere")
	assert.NotContains(t, out, "AgLeader")
	assert.NotContains(t, out, "- user", "users are not a provider's: gone-2 stays, whole")

	users := map[string]*sandbox.User{}
	for _, u := range ts.State().Users {
		users[u.ExternalID] = u
	}
	assert.NotContains(t, users, "gone-1")
	require.Contains(t, users, "gone-2", "outside the selection")
	assert.Len(t, users["gone-2"].Credentials, 2)
	assert.Contains(t, users["keep-1"].Credentials, "AgLeader")
	assert.NotContains(t, users["keep-1"].Credentials, "JohnDeere")
}

func TestSelectedCredentialBringsItsUserAndConfig(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(manifest, []byte(`version: 1
defaults:
  config: {operationsAutoSync: false}
growers:
  - externalId: new-1
    connections:
      AgLeader: {refreshToken: r, publicKey: p, privateKey: k}
      Valley: {apid: a, initializationVector: i, key: k, username: u, password: p}
`), 0o600))
	env := sandboxEnv(ts, nil)
	code, out, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--kind", "credential", "--provider", "AgLeader")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "+ user new-1")
	assert.Contains(t, out, "+ config new-1")
	assert.Contains(t, out, "+ credential new-1/AgLeader")
	assert.NotContains(t, out, "Valley")
	assert.Zero(t, ts.Stats().Mutations.ConfigsAfterCredentials)
}

func TestSavedPlanRecordsItsSelection(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := bigAccount(t, ts, dir, 20)
	env := sandboxEnv(ts, nil)
	planFile := filepath.Join(dir, "plan.json")
	code, _, stderr := runCLI(t, env, "plan", manifest, "--rate", "0", "--only", "g00001,g00002", "--out", planFile)
	require.Equal(t, 0, code, stderr)

	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--plan", planFile, "--only", "g00001")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "planned for another selection")
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--plan", planFile, "--kind", "user")
	assert.Equal(t, 1, code, "a saved plan of some growers is not applied to a kind: %s", stderr)
	assert.Equal(t, 0, mutations(ts.Stats()), "nothing was sent")

	code, out, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--plan", planFile)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "2 succeeded", "the saved selection is applied")
}
