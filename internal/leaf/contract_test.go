package leaf_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// The contract suite drives the client through every endpoint and every provider against the
// sandbox, which follows docs/leaf-api.md.

func TestAuthenticate(t *testing.T) {
	ts := sandbox.NewServer(t)
	ctx := context.Background()

	c := ts.Client(t)
	require.NoError(t, c.Authenticate(ctx))
	assert.Equal(t, "sandbox", c.Subject(), "the token's subject is the login: a token run and a password run share one account")

	bad, err := leaf.NewClient(leaf.WithBaseURL(ts.URL), leaf.WithLogin("sandbox", "wrong"))
	require.NoError(t, err)
	err = bad.Authenticate(ctx)
	assert.True(t, leaf.IsAuth(err), "%v", err)
	_, err = bad.ListUsers(ctx, leaf.UserFilter{})
	assert.True(t, leaf.IsAuth(err), "%v", err)

	none, err := leaf.NewClient(leaf.WithBaseURL(ts.URL))
	require.NoError(t, err)
	_, err = none.ListUsers(ctx, leaf.UserFilter{})
	assert.True(t, leaf.IsAuth(err), "no credentials configured: %v", err)

	static, err := leaf.NewClient(leaf.WithBaseURL(ts.URL), leaf.WithToken("not-a-token"))
	require.NoError(t, err)
	_, err = static.ListUsers(ctx, leaf.UserFilter{})
	assert.True(t, leaf.IsAuth(err), "a static token is not refreshed: %v", err)
	assert.Equal(t, 401, leaf.StatusCode(err))
}

func TestBaseURLNeedsHTTPSUnlessLoopback(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://api.withleaf.io":  true,
		"http://127.0.0.1:8089":    true,
		"http://localhost:8089":    true,
		"http://[::1]:8089":        true,
		"http://api.withleaf.io":   false,
		"http://10.0.0.5:8089":     false,
		"ftp://api.withleaf.io":    false,
		"not a url":                false,
		"https://api.withleaf.io/": true,
	} {
		_, err := leaf.NewClient(leaf.WithBaseURL(url))
		assert.Equal(t, ok, err == nil, "%s: %v", url, err)
	}
	c, err := leaf.NewClient(leaf.EnvOptions(func(k string) string {
		return map[string]string{"LEAF_API_URL": "http://127.0.0.1:9", "LEAF_USERNAME": "u", "LEAF_PASSWORD": "p"}[k]
	})...)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9", c.BaseURL())
	assert.True(t, c.HasLogin())
	d, err := leaf.NewClient(leaf.EnvOptions(func(string) string { return "" })...)
	require.NoError(t, err)
	assert.Equal(t, leaf.DefaultBaseURL, d.BaseURL())
}

func TestUsersLifecycle(t *testing.T) {
	ts := sandbox.NewServer(t)
	c := ts.Client(t)
	ctx := context.Background()

	u, err := c.CreateUser(ctx, leaf.UserFields{Name: ptr("Jane Smith"), Email: ptr("jane@example.com"),
		Phone: ptr("+15551234567"), Address: ptr("123 Field Rd"), ExternalID: ptr("grower-0001")})
	require.NoError(t, err)
	require.NotEmpty(t, u.ID)
	assert.Equal(t, "grower-0001", u.ExternalID)

	got, err := c.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "Jane Smith", got.Name)
	assert.Equal(t, "+15551234567", got.Phone)

	for _, f := range []leaf.UserFilter{{ExternalID: "grower-0001"}, {Email: "jane@example.com"}, {Name: "Jane Smith"}} {
		list, err := c.ListUsers(ctx, f)
		require.NoError(t, err)
		require.Len(t, list, 1, "%+v", f)
		assert.Equal(t, u.ID, list[0].ID)
	}
	list, err := c.ListUsers(ctx, leaf.UserFilter{ExternalID: "grower-9999"})
	require.NoError(t, err)
	assert.Empty(t, list)

	up, err := c.UpdateUser(ctx, u.ID, leaf.UserFields{Email: ptr("jane@new.example.com")})
	require.NoError(t, err)
	assert.Equal(t, "jane@new.example.com", up.Email)
	assert.Equal(t, "Jane Smith", up.Name, "PATCH leaves absent fields alone")

	require.NoError(t, c.DeleteUser(ctx, u.ID))
	_, err = c.GetUser(ctx, u.ID)
	assert.True(t, leaf.IsNotFound(err), "%v", err)
	err = c.DeleteUser(ctx, u.ID)
	assert.True(t, leaf.IsNotFound(err), "a first DELETE of a missing user is a 404: %v", err)
}

func TestListUsersPagesThroughEverything(t *testing.T) {
	ts := sandbox.NewServer(t)
	for i := range 250 {
		ts.AddUser(&sandbox.User{Name: fmt.Sprint("user ", i), ExternalID: fmt.Sprintf("g-%03d", i)})
	}
	ts.AddUser(&sandbox.User{Name: "no external id"})
	c := ts.Client(t)
	ts.ResetStats()
	users, err := c.ListUsers(context.Background(), leaf.UserFilter{})
	require.NoError(t, err)
	assert.Len(t, users, 251)
	seen := map[string]bool{}
	for _, u := range users {
		assert.False(t, seen[u.ID], "user %s listed twice", u.ID)
		seen[u.ID] = true
	}
	st := ts.Stats()
	assert.Equal(t, 3, st.Requests.ByRoute["GET /users"], "ceil(251/100) pages")
}

// A list that changes size between pages is read again from the start.
func TestListUsersRestartsWhenTheTotalMoves(t *testing.T) {
	ts := sandbox.NewServer(t)
	for i := range 150 {
		ts.AddUser(&sandbox.User{ExternalID: fmt.Sprint("g-", i)})
	}
	added := false
	hs := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("page") == "1" && !added {
			added = true
			ts.AddUser(&sandbox.User{ExternalID: "late"})
		}
		ts.Server.ServeHTTP(w, r)
	})
	ts.HTTP.Config.Handler = hs
	c := ts.Client(t)
	users, err := c.ListUsers(context.Background(), leaf.UserFilter{})
	require.NoError(t, err)
	assert.Len(t, users, 151)
	assert.Equal(t, 4, ts.Stats().Requests.ByRoute["GET /users"], "two pages, then two again")
}

// PUT replaces a user; the client re-sends every credential id so none is dropped.
func TestPutUserKeepsCredentials(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithPatchDisabled())
	c := ts.Client(t)
	ctx := context.Background()
	u, err := c.CreateUser(ctx, leaf.UserFields{Name: ptr("A"), ExternalID: ptr("g1")})
	require.NoError(t, err)
	for _, name := range []string{"JohnDeere", "CNHI", "Valley"} {
		p, _ := leaf.LookupProvider(name)
		_, err := c.CreateCredential(ctx, u.ID, p, credentialFields(p, "v"))
		require.NoError(t, err)
	}
	ts.ResetStats()
	up, err := c.UpdateUser(ctx, u.ID, leaf.UserFields{Name: ptr("B")})
	require.NoError(t, err)
	assert.Equal(t, "B", up.Name)
	assert.Equal(t, "g1", up.ExternalID)
	assert.Len(t, up.Credentials, 3, "PUT kept the credentials")
	st := ts.Stats()
	assert.Equal(t, 1, st.Requests.ByMethod["PATCH"], "tried PATCH once")
	assert.Equal(t, 1, st.Requests.ByMethod["PUT"])

	_, err = c.UpdateUser(ctx, u.ID, leaf.UserFields{Email: ptr("b@example.com")})
	require.NoError(t, err)
	assert.Equal(t, 1, ts.Stats().Requests.ByMethod["PATCH"], "remembers that PATCH is unsupported")
	got, err := c.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.Len(t, got.Credentials, 3)
	assert.Equal(t, "b@example.com", got.Email)

	// A bare PUT (credentials not re-sent) drops them, which is why the client never sends one.
	bare := *got
	bare.Credentials = nil
	after, err := c.PutUser(ctx, &bare)
	require.NoError(t, err)
	assert.Empty(t, after.Credentials)
}

func TestCredentialsOfEveryProvider(t *testing.T) {
	ts := sandbox.NewServer(t)
	c := ts.Client(t)
	ctx := context.Background()
	u, err := c.CreateUser(ctx, leaf.UserFields{Name: ptr("all"), ExternalID: ptr("g-all")})
	require.NoError(t, err)

	for _, p := range leaf.Providers() {
		t.Run(p.Name, func(t *testing.T) {
			_, err := c.GetCredential(ctx, u.ID, p)
			assert.True(t, leaf.IsNotFound(err), "not connected yet: %v", err)

			// Each required field missing: 400 naming the field.
			for _, f := range p.Required {
				fields := credentialFields(p, "x")
				var without leaf.Fields
				for _, ff := range fields {
					if ff.Name != f {
						without = append(without, ff)
					}
				}
				_, err := c.CreateCredential(ctx, u.ID, p, without)
				var ae *leaf.APIError
				require.ErrorAs(t, err, &ae, "missing %s", f)
				assert.Equal(t, 400, ae.StatusCode)
				assert.Contains(t, ae.Fields, f)
			}
			if p.Environment != leaf.EnvNone {
				_, err := c.CreateCredential(ctx, u.ID, p, credentialFields(p, "x").With(leaf.FieldClientEnvironment, "STAGE or PRODUCTION"))
				assert.Equal(t, 400, leaf.StatusCode(err))
				assert.Contains(t, err.Error(), leaf.FieldClientEnvironment)
			}

			want := credentialFields(p, "v")
			cr, err := c.CreateCredential(ctx, u.ID, p, want)
			require.NoError(t, err)
			assert.NotEmpty(t, cr.ID)
			assert.True(t, cr.Healthy())
			for _, f := range want {
				got, ok := cr.Fields.Get(f.Name)
				if contains(p.NotReturned, f.Name) {
					assert.False(t, ok, "%s is not returned", f.Name)
					continue
				}
				assert.Equal(t, f.Value.Reveal(), got.Reveal(), f.Name)
			}
			for _, f := range p.Generated {
				assert.True(t, cr.Fields.Has(f), "Leaf generates %s", f)
			}
			if p.Environment == leaf.EnvOptional {
				assert.Equal(t, leaf.EnvStage, cr.Fields.Value(leaf.FieldClientEnvironment).Reveal())
			}

			_, err = c.CreateCredential(ctx, u.ID, p, want)
			assert.True(t, leaf.IsConflict(err), "a second POST is a 409: %v", err)

			got, err := c.GetCredential(ctx, u.ID, p)
			require.NoError(t, err)
			assert.Equal(t, cr.ID, got.ID)

			user, err := c.GetUser(ctx, u.ID)
			require.NoError(t, err)
			require.NotNil(t, user.Credential(p), "embedded in the user as %s", p.UserField)
			assert.Equal(t, cr.ID, user.Credential(p).ID)

			evs, err := c.ListCredentialEvents(ctx, u.ID, p)
			require.NoError(t, err)
			require.NotEmpty(t, evs)
			assert.Equal(t, 200, evs[0].StatusCode)

			_, err = ts.UpdateCredential(u.ID, p, map[string]string{"status": "INVALID"})
			require.NoError(t, err)
			got, err = c.GetCredential(ctx, u.ID, p)
			require.NoError(t, err)
			assert.False(t, got.Healthy())
			evs, err = c.ListCredentialEvents(ctx, u.ID, p)
			require.NoError(t, err)
			assert.Equal(t, 401, evs[0].StatusCode, "newest first")

			require.NoError(t, c.DeleteCredential(ctx, u.ID, p))
			_, err = c.GetCredential(ctx, u.ID, p)
			assert.True(t, leaf.IsNotFound(err))
			_, err = c.ListCredentialEvents(ctx, u.ID, p)
			assert.True(t, leaf.IsNotFound(err), "the event log goes with the credential")
		})
	}
}

func TestCredentialEventsPaging(t *testing.T) {
	ts := sandbox.NewServer(t)
	c := ts.Client(t)
	ctx := context.Background()
	p, _ := leaf.LookupProvider("Trimble")
	u, err := c.CreateUser(ctx, leaf.UserFields{ExternalID: ptr("g")})
	require.NoError(t, err)
	_, err = c.CreateCredential(ctx, u.ID, p, credentialFields(p, "v"))
	require.NoError(t, err)
	for range 230 {
		_, err = ts.UpdateCredential(u.ID, p, map[string]string{"status": "INVALID"})
		require.NoError(t, err)
	}
	evs, err := c.ListCredentialEvents(ctx, u.ID, p)
	require.NoError(t, err)
	assert.Len(t, evs, 231)
}

func TestAppKeysOfEveryProvider(t *testing.T) {
	ts := sandbox.NewServer(t)
	c := ts.Client(t)
	ctx := context.Background()
	for _, p := range leaf.Providers() {
		if p.AppKey == nil {
			_, err := c.ListAppKeys(ctx, p)
			assert.Error(t, err, "%s has no app keys", p.Name)
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			env := ""
			if p.AppKey.WithEnvironment {
				env = leaf.EnvProduction
				err := c.CreateAppKey(ctx, p, "acme", "", appFields(p, "s"))
				assert.Error(t, err, "the path needs an environment")
			}
			apps, err := c.ListAppKeys(ctx, p)
			require.NoError(t, err)
			assert.Empty(t, apps)
			_, err = c.GetAppKey(ctx, p, "acme", env)
			assert.True(t, leaf.IsNotFound(err))

			missing := appFields(p, "s")[1:]
			err = c.CreateAppKey(ctx, p, "acme", env, missing)
			assert.Equal(t, 400, leaf.StatusCode(err), "a create missing a field: %v", err)

			require.NoError(t, c.CreateAppKey(ctx, p, "acme", env, appFields(p, "s")))
			err = c.CreateAppKey(ctx, p, "acme", env, appFields(p, "s"))
			assert.True(t, leaf.IsConflict(err), "%v", err)
			got, err := c.GetAppKey(ctx, p, "acme", env)
			require.NoError(t, err)
			assert.Equal(t, "acme", got.AppName)
			assert.Equal(t, p.AppKey.Segment, got.Provider)
			assert.Equal(t, leaf.EnvProduction, got.ClientEnvironment)
			if p.AppKey.WithEnvironment {
				require.NoError(t, c.CreateAppKey(ctx, p, "acme", leaf.EnvStage, appFields(p, "s")))
			}
			apps, err = c.ListAppKeys(ctx, p)
			require.NoError(t, err)
			assert.Len(t, apps, map[bool]int{true: 2, false: 1}[p.AppKey.WithEnvironment])

			require.NoError(t, c.UpdateAppKey(ctx, p, "acme", env, appFields(p, "t")))
			for _, alt := range p.AppKey.UpdateAlternatives {
				m := map[string]string{}
				for _, f := range alt {
					m[f] = "alt-" + f
				}
				require.NoError(t, c.UpdateAppKey(ctx, p, "acme", env, leaf.FieldsFromMap(m)))
			}
			err = c.UpdateAppKey(ctx, p, "other", env, appFields(p, "t"))
			assert.True(t, leaf.IsNotFound(err))

			require.NoError(t, c.DeleteAppKey(ctx, p, "acme", env))
			_, err = c.GetAppKey(ctx, p, "acme", env)
			assert.True(t, leaf.IsNotFound(err))
		})
	}
	state := ts.State()
	for _, a := range state.AppKeys {
		if a.Provider == "JohnDeere" {
			assert.Equal(t, []any{"FIELDS:READ", "OPERATIONS:READ"}, a.Fields["scopes"], "scopes travel as an array")
		}
	}
}

func TestAPIKeys(t *testing.T) {
	ts := sandbox.NewServer(t)
	c := ts.Client(t)
	ctx := context.Background()
	u, err := c.CreateUser(ctx, leaf.UserFields{ExternalID: ptr("g")})
	require.NoError(t, err)

	_, err = c.CreateAPIKey(ctx, u.ID, 899, "too short")
	assert.Equal(t, 400, leaf.StatusCode(err))
	assert.Contains(t, err.Error(), "expiresIn")

	k, err := c.CreateAPIKey(ctx, u.ID, 900, "widget")
	require.NoError(t, err)
	assert.True(t, k.Valid)
	assert.NotEmpty(t, k.Key.Reveal())
	assert.NotContains(t, fmt.Sprint(k), k.Key.Reveal())
	_, err = c.CreateAPIKey(ctx, u.ID, 0, "default expiry")
	require.NoError(t, err)

	keys, err := c.ListAPIKeys(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.NoError(t, c.RevokeAPIKey(ctx, keys[0].ID))
	keys, err = c.ListAPIKeys(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, keys[0].Valid)
	assert.NotEmpty(t, keys[0].RevokedAt)
	assert.True(t, keys[1].Valid)

	err = c.RevokeAPIKey(ctx, "no-such-key")
	assert.True(t, leaf.IsNotFound(err))
	_, err = c.ListAPIKeys(ctx, "")
	assert.Equal(t, 400, leaf.StatusCode(err), "leafUserId is required")

	require.NoError(t, c.DeleteUser(ctx, u.ID))
	assert.Empty(t, ts.State().APIKeys, "a user's keys go with the user")
}

func TestUserDecodingTreatsEmptyCredentialsAsAbsent(t *testing.T) {
	var u leaf.User
	require.NoError(t, u.UnmarshalJSON([]byte(`{"id":"u1","externalId":"g","johnDeereCredentials":{},
		"cnhiCredentials":null,"agVanceCredentials":{"id":"c1","status":"OK","username":"x","databaseId":"7"},
		"someFutureCredentials":{"id":"z"},"unknownProp":[1,2]}`)))
	require.Len(t, u.Credentials, 1)
	assert.Equal(t, "AgVance", u.Credentials[0].Provider.Name)
	assert.Equal(t, "x", u.Credentials[0].Fields.Value("username").Reveal())
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// After the first page tells the total, the other pages are read in parallel (up to the
// client's concurrency), all through the pacer.
func TestListUsersReadsPagesInParallel(t *testing.T) {
	ts := sandbox.NewServer(t)
	for i := range 1000 {
		ts.AddUser(&sandbox.User{ExternalID: fmt.Sprintf("g-%04d", i)})
	}
	var inFlight, peak atomic.Int32
	ts.HTTP.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/users") {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(20 * time.Millisecond)
		}
		ts.Server.ServeHTTP(w, r)
	})
	c := ts.Client(t, leaf.WithConcurrency(4))
	users, err := c.ListUsers(context.Background(), leaf.UserFilter{})
	require.NoError(t, err)
	require.Len(t, users, 1000)
	for i, u := range users {
		require.Equal(t, fmt.Sprintf("g-%04d", i), u.ExternalID, "pages are put back in order")
	}
	assert.Equal(t, 10, ts.Stats().Requests.ByRoute["GET /users"])
	assert.Greater(t, peak.Load(), int32(1), "pages were read at once")
	assert.LessOrEqual(t, peak.Load(), int32(4), "no more at once than the client's concurrency")
}
