package plan

import (
	"github.com/leaf-import/leaf-import/internal/manifest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// The diff rules, one case each: the manifest (YAML) and Leaf's users in, the plan's changes,
// conflicts and notices out.

func provider(t *testing.T, name string) *leaf.Provider {
	t.Helper()
	p, ok := leaf.LookupProvider(name)
	require.True(t, ok, name)
	return p
}

// jd is a healthy John Deere credential holding the manifest's values below (refreshToken
// "rt", clientKey "k", clientSecret "s").
func jd(t *testing.T, status, token, key string) *leaf.Credential {
	return &leaf.Credential{Provider: provider(t, "JohnDeere"), ID: "cred-1", Status: status, CreatedTime: "2026-01-01",
		Fields: leaf.Fields{{Name: "refreshToken", Value: leaf.Secret(token)}, {Name: "clientKey", Value: leaf.Secret(key)},
			{Name: "clientSecret", Value: "s"}, {Name: "clientEnvironment", Value: "PRODUCTION"}}}
}

const jdConn = `    connections:
      JohnDeere: {refreshToken: rt, clientKey: k, clientSecret: s, clientEnvironment: PRODUCTION}
`

func TestDiffRules(t *testing.T) {
	cases := []struct {
		name     string
		manifest string
		users    func(t *testing.T) []leaf.User
		opts     Options
		// want lists the changes as "action kind subject reason".
		want      []string
		conflicts []string
		notices   []string
	}{
		{name: "create user and credential", manifest: "  - externalId: g1\n    name: Jane\n" + jdConn,
			users: func(*testing.T) []leaf.User { return nil },
			want:  []string{"create user g1 absent in Leaf", "create credential g1/JohnDeere absent in Leaf"}},
		{name: "update a managed field", manifest: "  - externalId: g1\n    name: Jane\n",
			users: func(*testing.T) []leaf.User { return []leaf.User{{ID: "u1", ExternalID: "g1", Name: "Old"}} },
			want:  []string{"update user g1 fields differ"}},
		{name: "an absent field is not managed", manifest: "  - externalId: g1\n",
			users: func(*testing.T) []leaf.User {
				return []leaf.User{{ID: "u1", ExternalID: "g1", Name: "Anything", Email: "a@b.co"}}
			}},
		{name: "replace on a compared field", manifest: "  - externalId: g1\n" + jdConn,
			users: func(t *testing.T) []leaf.User {
				return []leaf.User{{ID: "u1", ExternalID: "g1", Credentials: []*leaf.Credential{jd(t, "OK", "rt", "other-key")}}}
			},
			want: []string{"replace credential g1/JohnDeere fields differ"}},
		{name: "a rotated token is left alone", manifest: "  - externalId: g1\n" + jdConn,
			users: func(t *testing.T) []leaf.User {
				return []leaf.User{{ID: "u1", ExternalID: "g1", Credentials: []*leaf.Credential{jd(t, "OK", "rotated-by-leaf", "k")}}}
			}},
		{name: "unhealthy with a new token is replaced", manifest: "  - externalId: g1\n" + jdConn,
			users: func(t *testing.T) []leaf.User {
				return []leaf.User{{ID: "u1", ExternalID: "g1", Credentials: []*leaf.Credential{jd(t, "INVALID", "old-token", "k")}}}
			},
			want: []string{"replace credential g1/JohnDeere unhealthy, manifest carries a new token"}},
		{name: "unhealthy with the same token needs re-authorization", manifest: "  - externalId: g1\n" + jdConn,
			users: func(t *testing.T) []leaf.User {
				return []leaf.User{{ID: "u1", ExternalID: "g1", Credentials: []*leaf.Credential{jd(t, "INVALID", "rt", "k")}}}
			},
			notices: []string{"g1/JohnDeere needs re-authorization"}},
		{name: "--replace-credentials", manifest: "  - externalId: g1\n" + jdConn, opts: Options{ReplaceCredentials: true},
			users: func(t *testing.T) []leaf.User {
				return []leaf.User{{ID: "u1", ExternalID: "g1", Credentials: []*leaf.Credential{jd(t, "OK", "rt", "k")}}}
			},
			want: []string{"replace credential g1/JohnDeere --replace-credentials"}},
		{name: "two users of one externalId are a conflict", manifest: "  - externalId: g1\n    name: Jane\n" + jdConn,
			users: func(*testing.T) []leaf.User {
				return []leaf.User{{ID: "u1", ExternalID: "g1"}, {ID: "u2", ExternalID: "g1"}}
			},
			conflicts: []string{"g1 u1,u2"}},
		{name: "prune deletes what the manifest lacks", manifest: "  - externalId: g1\n", opts: Options{Prune: true},
			users: func(t *testing.T) []leaf.User {
				return []leaf.User{{ID: "u1", ExternalID: "g1", Credentials: []*leaf.Credential{jd(t, "OK", "rt", "k")}},
					{ID: "u2", ExternalID: "gone"}, {ID: "u3", Name: "no externalId"}}
			},
			want: []string{"delete credential g1/JohnDeere not in manifest, --prune", "delete user gone not in manifest, --prune"}},
		{name: "without prune nothing is deleted", manifest: "  - externalId: g1\n",
			users: func(*testing.T) []leaf.User {
				return []leaf.User{{ID: "u1", ExternalID: "g1"}, {ID: "u2", ExternalID: "gone"}}
			}},
		{name: "adopt by email", manifest: "  - externalId: g1\n    email: jane@example.com\n", opts: Options{AdoptByEmail: true},
			users: func(*testing.T) []leaf.User { return []leaf.User{{ID: "u9", Email: "Jane@Example.com"}} },
			want:  []string{"update user g1 adopted by email"}},
		{name: "no adoption of a user that carries another externalId", manifest: "  - externalId: g1\n    email: jane@example.com\n",
			opts: Options{AdoptByEmail: true},
			users: func(*testing.T) []leaf.User {
				return []leaf.User{{ID: "u9", Email: "jane@example.com", ExternalID: "other"}}
			},
			want: []string{"create user g1 absent in Leaf"}},
		{name: "unmanaged users are untouched, even with prune", manifest: "  - externalId: g1\n", opts: Options{Prune: true},
			users: func(*testing.T) []leaf.User {
				return []leaf.User{{ID: "u1", ExternalID: "g1"}, {ID: "u2", Name: "someone else's", Email: "x@y.co"}}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, ps := manifest.Parse("m.yaml", strings.NewReader("version: 1\ngrowers:\n"+c.manifest), mapSource{})
			require.Empty(t, ps, ps.Error())
			c.opts.Fingerprints = NewFingerprinter([]byte("k"))
			p := Diff(m, &leaf.Snapshot{Users: c.users(t)}, c.opts)
			var got, conflicts, notices []string
			for _, ch := range p.Changes {
				got = append(got, ch.Action.String()+" "+ch.Kind.String()+" "+ch.Subject()+" "+string(ch.Reason))
			}
			sum, err := p.Summarize()
			require.NoError(t, err)
			for _, cf := range sum.Conflicts {
				conflicts = append(conflicts, cf.ExternalID+" "+strings.Join(cf.LeafUserIDs, ","))
			}
			for _, n := range sum.Notices {
				notices = append(notices, n.ExternalID+"/"+n.Provider+" "+string(n.Reason))
			}
			assert.Equal(t, c.want, got, "changes")
			assert.Equal(t, c.conflicts, conflicts, "conflicts")
			assert.Equal(t, c.notices, notices, "notices")
		})
	}
}
