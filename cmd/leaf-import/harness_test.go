package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/manifest"
)

// growerSpec describes one grower of a generated manifest.
type growerSpec struct {
	ext       string
	name      string
	email     string
	providers []string
	// token varies the rotating tokens (a new token for a re-authorization).
	token string
}

// credValues returns the manifest's credential values of p for a grower: every required field,
// secrets prefixed with secretPrefix (a canary in some tests).
func credValues(p *leaf.Provider, ext, token, secretPrefix string) map[string]string {
	m := map[string]string{}
	for _, f := range p.Required {
		switch {
		case f == leaf.FieldClientEnvironment:
			m[f] = leaf.EnvProduction
		case p.IsRotating(f):
			m[f] = secretPrefix + "tok-" + p.Name + "-" + ext + token
		case p.IsSecret(f):
			m[f] = secretPrefix + "sec-" + p.Name + "-" + f
		default:
			m[f] = "id-" + p.Name + "-" + f
		}
	}
	return m
}

// writeManifest writes a YAML manifest of growers (and apps of the named providers) into dir.
func writeManifest(t testing.TB, dir string, growers []growerSpec, apps []string, secretPrefix string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\napps:\n")
	for _, name := range apps {
		p, _ := leaf.LookupProvider(name)
		fmt.Fprintf(&b, "  - provider: %s\n    appName: acme\n", p.Name)
		if p.AppKey.WithEnvironment {
			b.WriteString("    clientEnvironment: PRODUCTION\n")
		}
		for _, f := range p.AppKey.Required {
			fmt.Fprintf(&b, "    %s: %q\n", f, secretPrefix+"app-"+f)
		}
	}
	b.WriteString("growers:\n")
	for _, g := range growers {
		fmt.Fprintf(&b, "  - externalId: %s\n", g.ext)
		if g.name != "" {
			fmt.Fprintf(&b, "    name: %q\n", g.name)
		}
		if g.email != "" {
			fmt.Fprintf(&b, "    email: %s\n", g.email)
		}
		if len(g.providers) > 0 {
			b.WriteString("    connections:\n")
		}
		for _, name := range g.providers {
			p, _ := leaf.LookupProvider(name)
			fmt.Fprintf(&b, "      %s:\n", p.Name)
			vals := credValues(p, g.ext, g.token, secretPrefix)
			keys := make([]string, 0, len(vals))
			for k := range vals {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, "        %s: %q\n", k, vals[k])
			}
		}
	}
	path := filepath.Join(dir, "manifest.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

// seedCredential is a sandbox credential holding the manifest's values for p.
func seedCredential(p *leaf.Provider, ext, token string) *sandbox.Credential {
	return &sandbox.Credential{Fields: credValues(p, ext, token, "")}
}

// assertConverged checks the sandbox against the manifest: each grower is exactly one Leaf user
// with its fields, holding each of its connections with the manifest's compared values; and a
// fresh plan is empty.
func assertConverged(t *testing.T, ts *sandbox.TestServer, manifestPath string, env map[string]string) {
	t.Helper()
	m, ps := manifest.Load(manifestPath, osSource{lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	require.Empty(t, ps)
	st := ts.State()
	byExt := map[string][]*sandbox.User{}
	for _, u := range st.Users {
		if u.ExternalID != "" {
			byExt[u.ExternalID] = append(byExt[u.ExternalID], u)
		}
	}
	missing := 0
	for _, g := range m.Growers {
		us := byExt[g.ExternalID]
		if !assert.Len(t, us, 1, "grower %s: exactly one Leaf user", g.ExternalID) {
			continue
		}
		u := us[0]
		for _, f := range [][2]string{{g.Name, u.Name}, {g.Email, u.Email}, {g.Phone, u.Phone}, {g.Address, u.Address}} {
			if f[0] != "" {
				assert.Equal(t, f[0], f[1], "grower %s", g.ExternalID)
			}
		}
		for _, c := range g.Connections {
			cr := u.Credentials[c.Provider.Name]
			if cr == nil {
				missing++
				t.Errorf("grower %s: no %s credential", g.ExternalID, c.Provider.Name)
				continue
			}
			for _, f := range c.Provider.ComparedFields() {
				if want, ok := c.Fields.Get(f); ok {
					assert.Equal(t, want.Reveal(), cr.Fields[f], "grower %s %s.%s", g.ExternalID, c.Provider.Name, f)
				}
			}
		}
	}
	assert.Zero(t, missing, "missing credentials")
	code, out, _ := runCLI(t, sandboxEnv(ts, env), "plan", manifestPath, "--rate", "0", "--detailed-exitcode")
	assert.Equal(t, 0, code, "a second plan is empty:\n%s", out)
}

// duplicateUsers counts Leaf users beyond the first of each externalId.
func duplicateUsers(ts *sandbox.TestServer) int {
	seen := map[string]int{}
	dups := 0
	for _, u := range ts.State().Users {
		if u.ExternalID == "" {
			continue
		}
		seen[u.ExternalID]++
		if seen[u.ExternalID] > 1 {
			dups++
		}
	}
	return dups
}

// mutations counts the non-GET user-management requests the sandbox saw.
func mutations(st sandbox.Stats) int {
	n := 0
	for m, c := range st.Requests.ByMethod {
		if m != "GET" {
			n += c
		}
	}
	return n
}

// runsOf lists the runs of the account env points at, newest first, through leaf-import runs.
func runsOf(t testing.TB, env map[string]string) []lifecycle.RunEntry {
	t.Helper()
	code, out, stderr := runCLI(t, env, "runs", "--format", "json")
	require.Equal(t, 0, code, stderr)
	var runs []lifecycle.RunEntry
	require.NoError(t, json.Unmarshal([]byte(out), &runs), out)
	return runs
}

// lastRun is the newest run of the account env points at.
func lastRun(t testing.TB, env map[string]string) lifecycle.RunEntry {
	t.Helper()
	runs := runsOf(t, env)
	require.NotEmpty(t, runs, "the account has runs")
	return runs[0]
}
