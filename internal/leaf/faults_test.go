package leaf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// faultClient is a sandbox client whose backoff and 429 pauses run on a fake clock.
func faultClient(t *testing.T, ts *sandbox.TestServer, opts ...leaf.Option) (*leaf.Client, *fakeClock) {
	clk := newFakeClock()
	// Six attempts, as these tests count them; TestRetryBudgetIsTime covers the default budget.
	b := leaf.DefaultBackoff()
	b.Attempts, b.Budget = 6, 0
	base := []leaf.Option{leaf.WithClock(clk), leaf.WithPacer(leaf.NewPacer(0, 1, clk)), leaf.WithBackoff(b)}
	c := ts.Client(t, append(base, opts...)...)
	require.NoError(t, c.Authenticate(context.Background()))
	return c, clk
}

// Each injected status is retried for idempotent requests and leaves a POST ambiguous,
// as the classifier says.
func TestStatusFaultsAreClassified(t *testing.T) {
	for _, code := range []int{500, 502, 503, 504} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			ts := sandbox.NewServer(t)
			c, _ := faultClient(t, ts)
			ctx := context.Background()
			require.NoError(t, ts.SetFaults(fmt.Sprintf("%d=1", code)))

			_, err := c.ListUsers(ctx, leaf.UserFilter{})
			require.Error(t, err)
			assert.Equal(t, code, leaf.StatusCode(err))
			assert.Equal(t, int64(5), c.Stats().Retries[fmt.Sprint(code)], "6 attempts, 5 retries")
			assert.Equal(t, 6, ts.Stats().Faults[fmt.Sprint(code)])

			_, err = c.CreateUser(ctx, leaf.UserFields{ExternalID: ptr("g")})
			assert.True(t, leaf.IsAmbiguous(err), "a POST answered %d is ambiguous: %v", code, err)
			assert.Zero(t, ts.Stats().Mutations.UserCreates, "status faults strike before commit")

			require.NoError(t, ts.SetFaults(fmt.Sprintf("%d=0.5,seed=3", code)))
			_, err = c.ListUsers(ctx, leaf.UserFilter{})
			assert.NoError(t, err, "retries get through a 50%% fault rate")

			require.NoError(t, ts.SetFaults(""))
			_, err = c.ListUsers(ctx, leaf.UserFilter{})
			assert.NoError(t, err)
		})
	}
}

// The default budget is time, not a count: a high fault rate costs retries, never the change;
// a request that meets nothing but failures for the whole budget reports an outage.
func TestRetryBudgetIsTime(t *testing.T) {
	ts := sandbox.NewServer(t)
	c, clk := faultClient(t, ts, leaf.WithBackoff(leaf.DefaultBackoff()))
	ctx := context.Background()

	require.NoError(t, ts.SetFaults("503=0.6,seed=4"))
	for i := range 20 {
		_, err := c.ListUsers(ctx, leaf.UserFilter{})
		require.NoError(t, err, "request %d: a 60%% fault rate is retried through", i)
	}
	assert.Greater(t, c.Stats().Retries["503"], int64(12), "more retries than six attempts would allow for some request")

	require.NoError(t, ts.SetFaults("503=1"))
	before := clk.total()
	_, err := c.ListUsers(ctx, leaf.UserFilter{})
	require.Error(t, err)
	assert.True(t, leaf.IsOutage(err), "nothing succeeded for the whole budget: %v", err)
	assert.Equal(t, "outage", leaf.ErrorCode(err))
	assert.Equal(t, 503, leaf.StatusCode(err), "the last answer is kept")
	spent := clk.total() - before
	assert.LessOrEqual(t, spent, 3*time.Minute)
	assert.Greater(t, spent, time.Minute, "the budget is spent in backoff, not in six quick attempts")
}

func TestRateLimitFaultsPauseAndRetry(t *testing.T) {
	ts := sandbox.NewServer(t)
	c, clk := faultClient(t, ts)
	ctx := context.Background()

	require.NoError(t, ts.SetFaults("429=1"))
	before := clk.total()
	_, err := c.CreateUser(ctx, leaf.UserFields{ExternalID: ptr("g")})
	var rl *leaf.RateLimitError
	require.ErrorAs(t, err, &rl, "a POST answered 429 is retried, not ambiguous")
	assert.Equal(t, time.Second, rl.RetryAfter)
	assert.Equal(t, "Request limit exceeded", rl.Title, "Leaf's documented 429 body")
	assert.Equal(t, 5*time.Second, clk.total()-before, "five 1 s waits from Retry-After")
	assert.Equal(t, int64(5), c.Stats().Retries["429"])
	st := c.Pacer().Stats()
	assert.Equal(t, 1, st.LimitHits, "429s in a row are the limit")
	assert.Contains(t, st.Reason, "Leaf answered 429")

	require.NoError(t, ts.SetFaults("429-bare=1"))
	before = clk.total()
	_, err = c.ListUsers(ctx, leaf.UserFilter{})
	require.ErrorAs(t, err, &rl)
	assert.Zero(t, rl.RetryAfter)
	waited := clk.total() - before
	assert.Greater(t, waited, 500*time.Millisecond, "no Retry-After: short pauses, growing")
	assert.LessOrEqual(t, waited, 6*leaf.DefaultRetryAfter, "then a probe a second")

	require.NoError(t, ts.SetFaults("429=0.5,seed=9"))
	_, err = c.CreateUser(ctx, leaf.UserFields{ExternalID: ptr("g")})
	require.NoError(t, err)
	assert.Equal(t, 1, ts.Stats().Mutations.UserCreates)
}

func TestResetFaults(t *testing.T) {
	ts := sandbox.NewServer(t)
	c, _ := faultClient(t, ts)
	ctx := context.Background()

	require.NoError(t, ts.SetFaults("reset-before-commit=1"))
	_, err := c.CreateUser(ctx, leaf.UserFields{ExternalID: ptr("before")})
	assert.True(t, leaf.IsAmbiguous(err), "a written POST without answer is ambiguous: %v", err)
	_, err = c.ListUsers(ctx, leaf.UserFilter{})
	var te *leaf.TransportError
	require.ErrorAs(t, err, &te, "GETs are retried, then fail as network errors")
	assert.Positive(t, c.Stats().Retries["network"])
	require.NoError(t, ts.SetFaults(""))
	users, err := c.ListUsers(ctx, leaf.UserFilter{ExternalID: "before"})
	require.NoError(t, err)
	assert.Empty(t, users, "reset before commit: nothing was created")

	require.NoError(t, ts.SetFaults("reset-after-commit=1"))
	_, err = c.CreateUser(ctx, leaf.UserFields{ExternalID: ptr("after")})
	assert.True(t, leaf.IsAmbiguous(err), "%v", err)
	_, err = c.ListUsers(ctx, leaf.UserFilter{})
	require.NoError(t, err, "after-commit faults hit mutations only")
	users, err = c.ListUsers(ctx, leaf.UserFilter{ExternalID: "after"})
	require.NoError(t, err)
	require.Len(t, users, 1, "reset after commit: the user exists")
	assert.Equal(t, 1, ts.Stats().Mutations.DroppedAfterCommit["POST /users"])

	// A DELETE whose answer was dropped is retried; the retry's 404 means done.
	err = c.DeleteUser(ctx, users[0].ID)
	require.NoError(t, err, "a retried DELETE answered 404 is done")
	require.NoError(t, ts.SetFaults(""))
	_, err = c.GetUser(ctx, users[0].ID)
	assert.True(t, leaf.IsNotFound(err))
}

func TestStallAndLatency(t *testing.T) {
	ts := sandbox.NewServer(t)
	c := ts.Client(t)
	ctx := context.Background()
	require.NoError(t, c.Authenticate(ctx))

	require.NoError(t, ts.SetFaults("stall-after-commit=1,stall=150ms"))
	start := time.Now()
	_, err := c.CreateUser(ctx, leaf.UserFields{ExternalID: ptr("stalled")})
	require.NoError(t, err, "a stalled answer still arrives")
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
	assert.Equal(t, 1, ts.Stats().Faults[sandbox.FaultStallAfterCommit])

	require.NoError(t, ts.SetFaults("latency=40ms-60ms"))
	start = time.Now()
	_, err = c.ListUsers(ctx, leaf.UserFilter{})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond)

}

// Lag and token expiry follow the sandbox's clock: here a fake one, so that a slow machine
// cannot let the lag pass between a create and the list that must not show it.
func TestLagAndTokenExpiry(t *testing.T) {
	clk := newFakeClock()
	ts := sandbox.NewServer(t, sandbox.WithClock(clk.Now), sandbox.WithFaults("lag=300ms,token-ttl=100ms"))
	c := ts.Client(t)
	ctx := context.Background()
	require.NoError(t, c.Authenticate(ctx))

	u, err := c.CreateUser(ctx, leaf.UserFields{ExternalID: ptr("lagging")})
	require.NoError(t, err)
	users, err := c.ListUsers(ctx, leaf.UserFilter{ExternalID: "lagging"})
	require.NoError(t, err)
	assert.Empty(t, users, "a new user is not listed yet")
	got, err := c.GetUser(ctx, u.ID)
	require.NoError(t, err, "but can be read by id")
	assert.Equal(t, "lagging", got.ExternalID)
	assert.Equal(t, int64(1), c.Stats().Authentications, "the token has not expired yet")

	require.NoError(t, clk.Sleep(ctx, 350*time.Millisecond))
	users, err = c.ListUsers(ctx, leaf.UserFilter{ExternalID: "lagging"})
	require.NoError(t, err)
	assert.Len(t, users, 1, "listed once the lag passed")
	assert.Equal(t, int64(2), c.Stats().Authentications, "an expired token costs one re-authentication")
	assert.Equal(t, 1, ts.Stats().Faults[sandbox.FaultTokenExpired])
}

// A client that hangs up during an injected latency ends the request: Leaf changed nothing and
// the sandbox is not held for the rest of the delay.
func TestLatencyEndsWhenTheClientHangsUp(t *testing.T) {
	ts := sandbox.NewServer(t)
	c := ts.Client(t)
	require.NoError(t, c.Authenticate(context.Background()))
	require.NoError(t, ts.SetFaults("latency=10s"))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.CreateUser(ctx, leaf.UserFields{ExternalID: ptr("aborted")})
		errc <- err
	}()
	require.Eventually(t, func() bool { return ts.Stats().Faults[sandbox.FaultLatency] == 1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	require.Eventually(t, func() bool { return ts.Stats().Requests.ByStatus["gone"] == 1 }, 5*time.Second, 5*time.Millisecond,
		"the sandbox let go of the request")
	require.NoError(t, ts.SetFaults(""))
	users, err := c.ListUsers(context.Background(), leaf.UserFilter{ExternalID: "aborted"})
	require.NoError(t, err)
	assert.Empty(t, users, "nothing was created")
	assert.Zero(t, ts.Stats().Mutations.UserCreates)
}

// Concurrent callers that all meet an expired token authenticate once between them, and the
// expiry is logged once, not once per caller.
func TestConcurrent401sAuthenticateOnce(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("token-ttl=80ms"))
	var logs lockedBuffer
	c := ts.Client(t, leaf.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ctx := context.Background()
	require.NoError(t, c.Authenticate(ctx))
	require.NoError(t, ts.SetFaults(""))
	time.Sleep(100 * time.Millisecond)
	errc := make(chan error, 16)
	for range 16 {
		go func() {
			_, err := c.ListUsers(ctx, leaf.UserFilter{})
			errc <- err
		}()
	}
	for range 16 {
		require.NoError(t, <-errc)
	}
	assert.Equal(t, int64(2), c.Stats().Authentications)
	assert.Equal(t, 1, strings.Count(logs.String(), "authenticating again"), logs.String())
}

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestFixedWindowRateLimit(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithRateLimit("3/m"))
	clk := newFakeClock()
	c := ts.Client(t, leaf.WithClock(clk), leaf.WithPacer(leaf.NewPacer(0, 1, clk)),
		leaf.WithBackoff(leaf.Backoff{Base: time.Millisecond, Cap: time.Millisecond, Attempts: 2}))
	ctx := context.Background()
	require.NoError(t, c.Authenticate(ctx))
	_, err := c.ListUsers(ctx, leaf.UserFilter{})
	require.NoError(t, err)
	_, err = c.ListUsers(ctx, leaf.UserFilter{})
	require.NoError(t, err)
	_, err = c.ListUsers(ctx, leaf.UserFilter{})
	var rl *leaf.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, "Request limit exceeded", rl.Title)
	assert.Zero(t, rl.RetryAfter, "Leaf's limit answer carries no Retry-After")
	st := ts.Stats()
	assert.Equal(t, 2, st.Faults[sandbox.FaultRateLimit])
	assert.Equal(t, 5, st.MaxPerMinute)
}

func TestAdminEndpointsAreNotFaultedOrCounted(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("500=1"))
	for range 3 {
		resp, err := http.Get(ts.URL + "/__sandbox/stats")
		require.NoError(t, err)
		var st sandbox.Stats
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		assert.Zero(t, st.Requests.Total)
	}
	req, _ := http.NewRequest(http.MethodPut, ts.URL+"/__sandbox/faults", strings.NewReader(`{"faults":"nonsense=1"}`))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 400, resp.StatusCode, "a bad spec is refused")
	req, _ = http.NewRequest(http.MethodPut, ts.URL+"/__sandbox/faults", strings.NewReader(`{"faults":""}`))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 204, resp.StatusCode)
	c := ts.Client(t)
	_, err = c.ListUsers(context.Background(), leaf.UserFilter{})
	assert.NoError(t, err, "an empty spec turns faults off")
}

func TestParseFaults(t *testing.T) {
	f, err := sandbox.ParseFaults("503=0.1, 429=0.05,reset-after-commit=0.02,stall-after-commit=0.01,stall=3s,latency=5ms-10ms,lag=300ms,token-ttl=20s,seed=42")
	require.NoError(t, err)
	assert.Equal(t, 0.1, f.Prob["503"])
	assert.Equal(t, 3*time.Second, f.Stall)
	assert.Equal(t, 5*time.Millisecond, f.LatencyMin)
	assert.Equal(t, 10*time.Millisecond, f.LatencyMax)
	assert.Equal(t, 300*time.Millisecond, f.Lag)
	assert.Equal(t, 20*time.Second, f.TokenTTL)
	assert.Equal(t, uint64(42), f.Seed)
	for _, bad := range []string{"503", "503=2", "503=x", "foo=1", "latency=9ms-1ms", "lag=soon"} {
		_, err := sandbox.ParseFaults(bad)
		assert.Error(t, err, bad)
	}
}

// Canary secrets sent through the client appear in no error string and no log line, even
// when the server echoes them back in its error body.
func TestCanarySecretsStayOutOfErrorsAndLogs(t *testing.T) {
	const canary = "CANARY-7d1e-secret"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		raw, _ := json.Marshal(body)
		w.Header().Set("Content-Type", "application/problem+json")
		status := http.StatusBadRequest
		if strings.HasSuffix(r.URL.Path, "/users/u1/john-deere-credentials") && r.Method == http.MethodDelete {
			status = http.StatusServiceUnavailable
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"title": "Bad value " + string(raw), "detail": "you sent " + string(raw),
			"fieldErrors": []map[string]string{{"field": "clientSecret"}},
		})
	}))
	defer echo.Close()
	var logs bytes.Buffer
	clk := newFakeClock()
	c, err := leaf.NewClient(leaf.WithBaseURL(echo.URL), leaf.WithToken("tok-"+canary),
		leaf.WithClock(clk), leaf.WithPacer(leaf.NewPacer(0, 1, clk)),
		leaf.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	p, _ := leaf.LookupProvider("JohnDeere")
	fields := credentialFields(p, "x").With("clientSecret", canary).With("refreshToken", canary+"-rt")
	_, err = c.CreateCredential(context.Background(), "u1", p, fields)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), canary)
	assert.Contains(t, err.Error(), "clientSecret", "the field is named, its value is not")
	err = c.DeleteCredential(context.Background(), "u1", p)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), canary)

	ts := sandbox.NewServer(t, sandbox.WithFaults("503=0.5,reset-before-commit=0.2,seed=5"))
	c2 := ts.Client(t, leaf.WithClock(clk), leaf.WithPacer(leaf.NewPacer(0, 1, clk)),
		leaf.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	u, err := c2.CreateUser(context.Background(), leaf.UserFields{ExternalID: ptr("g")})
	if err == nil {
		_, err = c2.CreateCredential(context.Background(), u.ID, p, fields)
	}
	if err != nil {
		assert.NotContains(t, err.Error(), canary)
	}
	assert.NotContains(t, logs.String(), canary)
	assert.NotEmpty(t, logs.String(), "the retries were logged")
}

func TestRedirectsOfMutatingRequestsAreRefused(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[]`))
	}))
	defer target.Close()
	hops := 0
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops++
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redir.Close()
	c, err := leaf.NewClient(leaf.WithBaseURL(redir.URL), leaf.WithToken("t"), leaf.WithPacer(leaf.NewPacer(0, 1, nil)))
	require.NoError(t, err)
	_, err = c.ListUsers(context.Background(), leaf.UserFilter{})
	require.NoError(t, err, "a GET may follow a redirect")
	_, err = c.CreateUser(context.Background(), leaf.UserFields{Name: ptr("x")})
	assert.Equal(t, http.StatusTemporaryRedirect, leaf.StatusCode(err), "the redirect is the answer: %v", err)
	assert.False(t, leaf.IsAmbiguous(err))
	assert.Equal(t, 2, hops, "the POST was not re-sent to the redirect target")
}
