package main

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/manifest"
)

type doctorJSON struct {
	Checks []struct {
		Name     string `json:"name"`
		Assumed  string `json:"assumed"`
		Observed any    `json:"observed"`
		OK       bool   `json:"ok"`
	} `json:"checks"`
	FactsSaved bool `json:"factsSaved"`
}

func (d doctorJSON) check(t *testing.T, name string) (any, bool) {
	t.Helper()
	for _, c := range d.Checks {
		if c.Name == name {
			assert.NotEmpty(t, c.Assumed)
			return c.Observed, c.OK
		}
	}
	t.Fatalf("no check %s", name)
	return nil, false
}

func runDoctorJSON(t *testing.T, env map[string]string, args ...string) (int, doctorJSON, string) {
	t.Helper()
	code, out, stderr := runCLI(t, env, append([]string{"doctor", "--format", "json", "--rate", "0"}, args...)...)
	var d doctorJSON
	require.NoError(t, json.Unmarshal([]byte(out), &d), "%s\n%s", out, stderr)
	return code, d, stderr
}

func probes(ts *sandbox.TestServer) int {
	n := 0
	for _, u := range ts.State().Users {
		if manifest.IsProbe(u.ExternalID) {
			n++
		}
	}
	return n
}

// doctor measures the list lag, leaves no probe behind, and apply then uses what it measured
// when it is longer than the window's 5 s floor.
func TestDoctorMeasuresTheListLag(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("lag=2500ms"))
	env := sandboxEnv(ts, nil)
	code, d, stderr := runDoctorJSON(t, env)
	require.Equal(t, 0, code, stderr)
	lag, ok := d.check(t, "list-lag")
	require.IsType(t, 0.0, lag, "the list lag is a number of seconds")
	assert.GreaterOrEqual(t, lag.(float64), 2.0)
	assert.LessOrEqual(t, lag.(float64), 4.0)
	assert.True(t, ok)
	_, ok = d.check(t, "patch")
	assert.True(t, ok)
	_, ok = d.check(t, "externalid-exact")
	assert.True(t, ok)
	_, ok = d.check(t, "credential-404")
	assert.True(t, ok)
	assert.True(t, d.FactsSaved)
	assert.Zero(t, probes(ts), "the probe is gone")
	assert.Zero(t, ts.Stats().Mutations.CredentialCreates, "the probe never gets a credential")

	manifest := writeManifest(t, t.TempDir(), growersOneConnection(2), nil, "")
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "lookup window from the account's measured list lag")
	assert.Regexp(t, `lookupWindow=([6-9]|1[0-9])(\.[0-9])?s `, stderr, "twice the measured lag (2 to 4 s) plus 1 s")
}

// On a Leaf without PATCH, doctor reports the fallback (exit 6), and later applies update users
// with GET+PUT from the start.
func TestDoctorReportsThePatchFallback(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithPatchDisabled())
	env := sandboxEnv(ts, nil)
	code, d, _ := runDoctorJSON(t, env)
	assert.Equal(t, exitAttention, code)
	obs, ok := d.check(t, "patch")
	assert.False(t, ok)
	assert.Contains(t, obs, "GET+PUT")
	assert.Zero(t, probes(ts))

	ts.AddUser(&sandbox.User{ExternalID: "g1", Name: "Old"})
	manifest := writeManifest(t, t.TempDir(), []growerSpec{{ext: "g1", name: "New"}}, nil, "")
	ts.ResetStats()
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Zero(t, ts.Stats().Requests.ByMethod["PATCH"], "the fallback is known in advance: no PATCH is tried")
	assert.Equal(t, 1, ts.Stats().Requests.ByMethod["PUT"])
}

// --no-write sends no mutating request.
func TestDoctorNoWrite(t *testing.T) {
	ts := sandbox.NewServer(t)
	manifest := writeManifest(t, t.TempDir(), growersOneConnection(3), []string{"JohnDeere"}, "")
	code, d, stderr := runDoctorJSON(t, sandboxEnv(ts, nil), manifest, "--no-write")
	require.Equal(t, 0, code, stderr)
	st := ts.Stats()
	assert.Zero(t, st.Requests.ByMethod["POST"], "no POST but the authentication (not counted by method)")
	assert.Positive(t, st.Requests.Auth)
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		assert.Zero(t, st.Requests.ByMethod[m], m)
	}
	_, ok := d.check(t, "app-keys-johndeere")
	assert.True(t, ok)
	obs, _ := d.check(t, "estimate")
	assert.Contains(t, obs, "requests")
	assert.False(t, d.FactsSaved)
}

// A doctor killed with its probe alive: the next doctor deletes it.
func TestDoctorDeletesAProbeACrashLeft(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("lag=30s"))
	dir := t.TempDir()
	p := startProc(t, ts, dir, "doctor", "--rate", "0")
	require.True(t, waitFor(20*time.Second, func() bool { return probes(ts) > 0 }), "the probe exists")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	p.wait(t, 10*time.Second)
	require.Equal(t, 1, probes(ts), "the killed doctor left its probe")
	require.NoError(t, ts.SetFaults(""))

	_, d, stderr := runDoctorJSON(t, sandboxEnv(ts, nil))
	obs, _ := d.check(t, "probe-cleanup")
	assert.EqualValues(t, 1, obs, stderr)
	assert.Zero(t, probes(ts), "no probe is left")
	assert.False(t, strings.Contains(stderr, "panic"))
}

// An interrupted doctor deletes its probe before it exits.
func TestDoctorInterruptedDeletesItsProbe(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("lag=30s"))
	dir := t.TempDir()
	p := startProc(t, ts, dir, "doctor", "--rate", "0")
	require.True(t, waitFor(20*time.Second, func() bool { return probes(ts) > 0 }), "the probe exists")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	assert.Equal(t, exitInterrupted, p.wait(t, 20*time.Second), readLog(t, dir, "err.log"))
	assert.Zero(t, probes(ts), "the probe was deleted on the way out")
}
