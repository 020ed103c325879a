package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/report"
)

// attentionScenario: g1 is carried by two Leaf users (a conflict), g2's John Deere credential is
// INVALID and Leaf already holds the manifest's token (it needs re-authorization), g3 is new.
func attentionScenario(t *testing.T, token string) (*sandbox.TestServer, string) {
	ts := sandbox.NewServer(t)
	ts.AddUser(&sandbox.User{ExternalID: "g1", Name: "G1"})
	ts.AddUser(&sandbox.User{ExternalID: "g1", Name: "G1 again"})
	jd := mustProvider("JohnDeere")
	cred := seedCredential(jd, "g2", token)
	cred.Status = "INVALID"
	ts.AddUser(&sandbox.User{ExternalID: "g2", Name: "G2", Credentials: map[string]*sandbox.Credential{jd.Name: cred}})
	manifest := writeManifest(t, t.TempDir(), []growerSpec{
		{ext: "g1", name: "G1"}, {ext: "g2", name: "G2", providers: []string{"JohnDeere"}}, {ext: "g3", name: "G3"},
	}, nil, "")
	return ts, manifest
}

// Conflicts and credentials to re-authorize make the run exit 6 (a nightly alert fires), are
// counted as what they are, and --accept-notices accepts them.
func TestConflictsAndNoticesExit6(t *testing.T) {
	ts, manifest := attentionScenario(t, "")
	env := sandboxEnv(ts, nil)

	code, out, _ := runCLI(t, env, "plan", manifest, "--rate", "0", "--detailed-exitcode")
	assert.Equal(t, exitChanges, code, "g3 is a change: 2 wins")
	assert.Contains(t, out, "Needs a person: 1 conflict, 1 notice.")

	code, out, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	assert.Equal(t, exitAttention, code, stderr)
	assert.Contains(t, out, "Needs a person: 1 conflict(s), 1 notice(s)")
	assert.Contains(t, stderr, "--accept-notices")
	rep, err := report.Load(lastRun(t, env).Report)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Summary.Conflicts)
	assert.Equal(t, 1, rep.Summary.Notices)
	assert.Equal(t, 1, rep.Summary.ByKind[change.KindUser][change.ActionConflict].Skipped)
	assert.Equal(t, 1, rep.Summary.ByKind[change.KindCredential][change.ActionNotice].Skipped)
	assert.Zero(t, rep.Summary.ByKind[change.KindUser][change.ActionUpdate].Total(), "a conflict is not an update")

	code, _, _ = runCLI(t, env, "plan", manifest, "--rate", "0", "--detailed-exitcode")
	assert.Equal(t, exitAttention, code, "no changes left, but growers need a person")
	code, _, _ = runCLI(t, env, "plan", manifest, "--rate", "0", "--detailed-exitcode", "--accept-notices")
	assert.Equal(t, 0, code)
	code, _, _ = runCLI(t, env, "plan", manifest, "--rate", "0")
	assert.Equal(t, 0, code, "without --detailed-exitcode plan exits 0")
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--accept-notices")
	assert.Equal(t, 0, code, stderr)
}

// An INVALID credential for which the manifest carries a newer token is replaced: nothing needs
// a person, the run exits 0.
func TestInvalidCredentialWithANewTokenIsRepaired(t *testing.T) {
	ts := sandbox.NewServer(t)
	jd := mustProvider("JohnDeere")
	cred := seedCredential(jd, "g2", "-old")
	cred.Status = "INVALID"
	ts.AddUser(&sandbox.User{ExternalID: "g2", Name: "G2", Credentials: map[string]*sandbox.Credential{jd.Name: cred}})
	manifest := writeManifest(t, t.TempDir(), []growerSpec{{ext: "g2", name: "G2", providers: []string{"JohnDeere"}}}, nil, "")
	code, out, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "± credential g2/JohnDeere: status INVALID -> replace")
	code, _, _ = runCLI(t, sandboxEnv(ts, nil), "plan", manifest, "--rate", "0", "--detailed-exitcode")
	assert.Equal(t, 0, code)
}
