package exec

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

const configManifest = `
defaults:
  config: {fieldsAutoSync: false, operationsAutoSync: false}
growers:
  - externalId: g1
    config: {operationsAutoSync: true}
    connections:
      AgLeader: {refreshToken: r, publicKey: p, privateKey: k}
  - externalId: g2
    connections:
      AgLeader: {refreshToken: r, publicKey: p, privateKey: k}
`

func TestApplySetsConfigAfterTheUserAndBeforeCredentials(t *testing.T) {
	f := newFake()
	res := Apply(context.Background(), slices.Values(planFor(t, f, configManifest).Changes), f, Options{Concurrency: 2, Clock: &instantClock{}})
	require.Nil(t, res.Fatal)
	for _, r := range res.Records {
		assert.Equal(t, report.StatusSucceeded, r.Status, "%+v", r)
	}
	for _, ext := range []string{"g1", "g2"} {
		var order []string
		for _, c := range f.calls {
			if strings.HasSuffix(c, " "+ext) || strings.Contains(c, " "+ext+"/") {
				order = append(order, strings.Fields(c)[1])
			}
		}
		assert.Equal(t, []string{"user", "config", "credential"}, order, ext)
	}
	for id, u := range f.users {
		want := map[string]string{"g1": "true", "g2": "false"}[u.ExternalID]
		got, _ := f.configs[id].Get("operationsAutoSync")
		assert.Equal(t, want, got, u.ExternalID)
		got, _ = f.configs[id].Get("fieldsAutoSync")
		assert.Equal(t, "false", got, "the default applies to %s", u.ExternalID)
	}
}

func TestApplySkipsCredentialsWhenConfigFails(t *testing.T) {
	f := newFake()
	f.onSetConfig = func(ext string) (error, bool) {
		if ext == "g1" {
			return &leaf.APIError{StatusCode: 400, Title: "bad flag"}, false
		}
		return nil, false
	}
	res := Apply(context.Background(), slices.Values(planFor(t, f, configManifest).Changes), f, Options{Concurrency: 2, Clock: &instantClock{}})
	recs := byID(res.Records)
	assert.Equal(t, report.StatusFailed, recs["config:g1"].Status)
	assert.Equal(t, report.StatusSkipped, recs["credential:g1/AgLeader"].Status)
	assert.Equal(t, report.CodeDependency, recs["credential:g1/AgLeader"].ErrorCode)
	assert.Zero(t, f.credPost["g1/AgLeader"], "no credential is attached without its config")
	assert.Equal(t, report.StatusSucceeded, recs["credential:g2/AgLeader"].Status)
}

func TestApplySettlesALostConfigAnswerByReadingItBack(t *testing.T) {
	f := newFake()
	lost := 0
	f.onSetConfig = func(ext string) (error, bool) {
		if ext == "g1" && lost == 0 {
			lost++
			return &leaf.AmbiguousError{Method: "POST", Err: &leaf.TransportError{Err: assert.AnError}}, true
		}
		return nil, false
	}
	res := Apply(context.Background(), slices.Values(planFor(t, f, configManifest).Changes), f, Options{Concurrency: 1, Clock: &instantClock{}})
	recs := byID(res.Records)
	assert.Equal(t, report.StatusSucceeded, recs["config:g1"].Status)
	assert.True(t, recs["config:g1"].ResolvedByLookup, "the read found the flags set")
	assert.Equal(t, report.StatusSucceeded, recs["credential:g1/AgLeader"].Status)
	sets := 0
	for _, c := range f.calls {
		if c == "SET config g1" {
			sets++
		}
	}
	assert.Equal(t, 1, sets, "flags found set are not sent again")
}

// A config that could not be set holds back the credentials that would start syncing under
// other flags, but not a credential delete: removing a connection the manifest dropped starts
// nothing.
func TestACredentialDeleteGoesOnWhenConfigFails(t *testing.T) {
	f := newFake()
	valley, _ := leaf.LookupProvider("Valley")
	f.users["u1"] = &leaf.User{ID: "u1", ExternalID: "g1", Credentials: []*leaf.Credential{{ID: "c1", Provider: valley, Status: "OK"}}}
	f.onSetConfig = func(string) (error, bool) { return &leaf.APIError{StatusCode: 400, Title: "bad flag"}, false }
	m, ps := manifest.Parse("m.yaml", strings.NewReader("version: 1\n"+`
growers:
  - externalId: g1
    config: {operationsAutoSync: true}
    connections:
      AgLeader: {refreshToken: r, publicKey: p, privateKey: k}
`), nilSource{})
	require.Empty(t, ps, ps.Error())
	users, _ := f.ListUsers(context.Background(), leaf.UserFilter{})
	p := plan.Diff(m, &leaf.Snapshot{Users: users, AppKeys: map[string][]leaf.AppKey{}}, plan.Options{Prune: true})
	f.calls = nil
	res := Apply(context.Background(), slices.Values(p.Changes), f, Options{Concurrency: 1, Clock: &instantClock{}})
	require.Nil(t, res.Fatal)
	recs := byID(res.Records)
	require.Contains(t, recs, "credential:g1/Valley", "the plan deletes the connection the manifest dropped")
	assert.Equal(t, report.StatusFailed, recs["config:g1"].Status)
	assert.Equal(t, report.StatusSkipped, recs["credential:g1/AgLeader"].Status)
	assert.Equal(t, report.StatusSucceeded, recs["credential:g1/Valley"].Status, "%+v", recs["credential:g1/Valley"])
	assert.Contains(t, f.calls, "DELETE credential g1/Valley")
}
