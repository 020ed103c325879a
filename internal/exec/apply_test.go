package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// fakeAPI is an in-memory Leaf for exec's unit tests. Hooks can fail or delay calls.
type fakeAPI struct {
	mu       sync.Mutex
	users    map[string]*leaf.User // by id
	posts    map[string]int        // POST /users by externalId
	credPost map[string]int        // credential POSTs by externalId/provider
	inFlight map[string]int        // calls in flight per externalId
	overlap  atomic.Bool
	calls    []string
	seq      int
	// hooks run before the operation; a non-nil error is returned instead (after commit when
	// the hook says so).
	onCreateUser func(ext string) (err error, afterCommit bool)
	onCreateCred func(ext, provider string) (err error, afterCommit bool)
	onSetConfig  func(ext string) (err error, afterCommit bool)
	configs      map[string]leaf.Config // by user id
	listHidden   bool
	readMoves    bool // ReadUsers says the list moved while it was read
	// lag keeps a user out of lists until lag after its create, on clock.
	lag    time.Duration
	clock  *instantClock
	born   map[string]time.Time
	onList func(ext string) // runs before a list, outside the lock
	lists  atomic.Int32
	// creating counts user creates in flight; readPause makes a read of every page take that
	// long, and readsDuringCreates counts the reads that saw a create in flight.
	creating           atomic.Int32
	readPause          time.Duration
	readsDuringCreates atomic.Int32
	postsAtReads       []int
}

func newFake() *fakeAPI {
	return &fakeAPI{users: map[string]*leaf.User{}, posts: map[string]int{}, credPost: map[string]int{}, inFlight: map[string]int{}}
}

func (f *fakeAPI) enter(ext string) func() {
	f.mu.Lock()
	f.inFlight[ext]++
	if f.inFlight[ext] > 1 {
		f.overlap.Store(true)
	}
	f.mu.Unlock()
	time.Sleep(time.Millisecond)
	return func() {
		f.mu.Lock()
		f.inFlight[ext]--
		f.mu.Unlock()
	}
}

func (f *fakeAPI) log(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeAPI) ListUsers(_ context.Context, flt leaf.UserFilter) ([]leaf.User, error) {
	f.lists.Add(1)
	f.log("LIST " + flt.ExternalID)
	if f.onList != nil {
		f.onList(flt.ExternalID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []leaf.User
	if f.listHidden {
		return nil, nil
	}
	for _, u := range f.users {
		if f.lag > 0 && f.clock.Now().Sub(f.born[u.ID]) < f.lag {
			continue
		}
		if flt.ExternalID == "" || u.ExternalID == flt.ExternalID {
			out = append(out, *u)
		}
	}
	return out, nil
}

// ReadUsers is a read of every page: complete unless the test says the list moved, and then
// it misses the user of the highest id (a page boundary shifted under it).
func (f *fakeAPI) ReadUsers(ctx context.Context) ([]leaf.User, bool, error) {
	overlapped := f.creating.Load() > 0
	f.mu.Lock()
	total := 0
	for _, n := range f.posts {
		total += n
	}
	f.postsAtReads = append(f.postsAtReads, total)
	f.mu.Unlock()
	time.Sleep(f.readPause)
	users, err := f.ListUsers(ctx, leaf.UserFilter{})
	if overlapped || f.creating.Load() > 0 {
		f.readsDuringCreates.Add(1)
	}
	if f.readMoves && len(users) > 0 {
		last := 0
		for i, u := range users {
			if len(u.ID) > len(users[last].ID) || len(u.ID) == len(users[last].ID) && u.ID > users[last].ID {
				last = i
			}
		}
		users = slices.Delete(users, last, last+1)
	}
	return users, !f.readMoves, err
}

func (f *fakeAPI) GetUser(_ context.Context, id string) (*leaf.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.users[id]; ok {
		c := *u
		return &c, nil
	}
	return nil, &leaf.APIError{StatusCode: 404}
}

func (f *fakeAPI) CreateUser(_ context.Context, fl leaf.UserFields) (*leaf.User, error) {
	ext := *fl.ExternalID
	f.creating.Add(1)
	defer f.creating.Add(-1)
	defer f.enter(ext)()
	f.log("POST user " + ext)
	var hookErr error
	after := false
	if f.onCreateUser != nil {
		hookErr, after = f.onCreateUser(ext)
		if hookErr != nil && !after {
			return nil, hookErr
		}
	}
	f.mu.Lock()
	f.seq++
	u := &leaf.User{ID: fmt.Sprintf("u%d", f.seq), ExternalID: ext}
	if fl.Name != nil {
		u.Name = *fl.Name
	}
	f.users[u.ID] = u
	if f.clock != nil {
		if f.born == nil {
			f.born = map[string]time.Time{}
		}
		f.born[u.ID] = f.clock.Now()
	}
	f.posts[ext]++
	f.mu.Unlock()
	if hookErr != nil {
		return nil, hookErr
	}
	return u, nil
}

func (f *fakeAPI) UpdateUser(_ context.Context, id string, fl leaf.UserFields) (*leaf.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return nil, &leaf.APIError{StatusCode: 404}
	}
	if fl.Name != nil {
		u.Name = *fl.Name
	}
	return u, nil
}

func (f *fakeAPI) DeleteUser(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, id)
	return nil
}

func (f *fakeAPI) GetCredential(_ context.Context, userID string, p *leaf.Provider) (*leaf.Credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.users[userID]; ok {
		if c := u.Credential(p); c != nil {
			return c, nil
		}
	}
	return nil, &leaf.APIError{StatusCode: 404}
}

func (f *fakeAPI) CreateCredential(_ context.Context, userID string, p *leaf.Provider, fields leaf.Fields) (*leaf.Credential, error) {
	f.mu.Lock()
	u := f.users[userID]
	f.mu.Unlock()
	if u == nil {
		return nil, &leaf.APIError{StatusCode: 404}
	}
	defer f.enter(u.ExternalID)()
	f.log("POST credential " + u.ExternalID + "/" + p.Name)
	var hookErr error
	after := false
	if f.onCreateCred != nil {
		hookErr, after = f.onCreateCred(u.ExternalID, p.Name)
		if hookErr != nil && !after {
			return nil, hookErr
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if u.Credential(p) != nil {
		return nil, &leaf.APIError{StatusCode: 409}
	}
	c := &leaf.Credential{Provider: p, ID: "c-" + u.ExternalID + p.Name, Status: "OK", Fields: fields}
	u.Credentials = append(u.Credentials, c)
	f.credPost[u.ExternalID+"/"+p.Name]++
	if hookErr != nil {
		return nil, hookErr
	}
	return c, nil
}

func (f *fakeAPI) DeleteCredential(_ context.Context, userID string, p *leaf.Provider) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[userID]
	if u == nil || u.Credential(p) == nil {
		return &leaf.APIError{StatusCode: 404}
	}
	var keep []*leaf.Credential
	for _, c := range u.Credentials {
		if c.Provider != p {
			keep = append(keep, c)
		}
	}
	u.Credentials = keep
	f.calls = append(f.calls, "DELETE credential "+u.ExternalID+"/"+p.Name)
	return nil
}

func (f *fakeAPI) GetAppKey(context.Context, *leaf.Provider, string, string) (*leaf.AppKey, error) {
	return nil, &leaf.APIError{StatusCode: 404}
}

func (f *fakeAPI) CreateAppKey(_ context.Context, p *leaf.Provider, name, env string, _ leaf.Fields) error {
	f.log("POST app " + p.Name + "/" + name)
	return nil
}
func (f *fakeAPI) UpdateAppKey(context.Context, *leaf.Provider, string, string, leaf.Fields) error {
	return nil
}
func (f *fakeAPI) DeleteAppKey(context.Context, *leaf.Provider, string, string) error { return nil }

func (f *fakeAPI) UserConfig(_ context.Context, userID string) (leaf.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cfg, ok := f.configs[userID]
	if !ok {
		return nil, &leaf.APIError{StatusCode: 404}
	}
	return cfg, nil
}

func (f *fakeAPI) SetUserConfig(_ context.Context, userID string, cfg leaf.Config, _ bool) error {
	f.mu.Lock()
	u := f.users[userID]
	f.mu.Unlock()
	if u == nil {
		return &leaf.APIError{StatusCode: 404}
	}
	f.log("SET config " + u.ExternalID)
	var hookErr error
	after := false
	if f.onSetConfig != nil {
		if hookErr, after = f.onSetConfig(u.ExternalID); hookErr != nil && !after {
			return hookErr
		}
	}
	f.mu.Lock()
	if f.configs == nil {
		f.configs = map[string]leaf.Config{}
	}
	have := f.configs[userID]
	for _, v := range cfg {
		have = have.With(v.Name, v.Value)
	}
	f.configs[userID] = have
	f.mu.Unlock()
	return hookErr
}

// instantClock makes lookup waits free.
type instantClock struct{ now atomic.Int64 }

func (c *instantClock) Now() time.Time { return time.Unix(0, c.now.Load()) }
func (c *instantClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now.Add(int64(d))
	return ctx.Err()
}

// planFor computes the plan of growers against the fake's state. The manifest is the document's
// body: the version line every manifest needs is written here.
func planFor(t *testing.T, f *fakeAPI, body string) *plan.Plan {
	t.Helper()
	m, ps := manifest.Parse("m.yaml", strings.NewReader("version: 1\n"+body), nilSource{})
	require.Empty(t, ps, ps.Error())
	users, _ := f.ListUsers(context.Background(), leaf.UserFilter{})
	f.mu.Lock()
	f.calls = nil // the plan's read is not the apply's
	f.mu.Unlock()
	f.lists.Store(0)
	return plan.Diff(m, &leaf.Snapshot{Users: users, AppKeys: map[string][]leaf.AppKey{}}, plan.Options{})
}

type nilSource struct{}

func (nilSource) Getenv(string) (string, bool) { return "", false }
func (nilSource) Open(name string) (io.ReadCloser, error) {
	return nil, os.ErrNotExist
}

func manifestOf(n int) string {
	var b strings.Builder
	b.WriteString("apps:\n  - {provider: AgLeader, appName: a, publicKey: p, privateKey: k}\ngrowers:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - externalId: g%02d\n    name: G\n    connections:\n", i)
		b.WriteString("      AgLeader: {refreshToken: r, publicKey: p, privateKey: k}\n")
		b.WriteString("      Valley: {apid: a, initializationVector: i, key: k, username: u, password: p}\n")
	}
	return b.String()
}

func byID(recs []report.Record) map[string]report.Record {
	m := map[string]report.Record{}
	for _, r := range recs {
		m[r.ChangeID] = r
	}
	return m
}

func TestApplyOrdersAndParallelises(t *testing.T) {
	f := newFake()
	p := planFor(t, f, manifestOf(20))
	// The first two user creates wait for each other: only workers running two growers at once
	// get both inside; one after another, the first gives up after its wait.
	var mu sync.Mutex
	inside := map[string]bool{}
	both := make(chan struct{})
	var concurrent atomic.Bool
	f.onCreateUser = func(ext string) (error, bool) {
		mu.Lock()
		inside[ext] = true
		if len(inside) == 2 {
			close(both)
		}
		n := len(inside)
		mu.Unlock()
		if n == 1 {
			select {
			case <-both:
				concurrent.Store(true) // the second came in while the first was inside
			case <-time.After(2 * time.Second):
			}
		}
		return nil, false
	}
	var recMu sync.Mutex
	var records []report.Record
	res := Apply(context.Background(), slices.Values(p.Changes), f, Options{Concurrency: 8, RunID: "r1", Clock: &instantClock{},
		OnRecord: func(r report.Record) { recMu.Lock(); records = append(records, r); recMu.Unlock() }})
	require.Nil(t, res.Fatal)
	assert.Empty(t, res.Records, "with OnRecord the caller holds the records")
	require.Len(t, records, 61)
	for _, r := range records {
		assert.Equal(t, report.StatusSucceeded, r.Status, "%+v", r)
		assert.Equal(t, "r1", r.RunID)
	}
	assert.False(t, f.overlap.Load(), "one worker owns a grower at a time")
	assert.True(t, concurrent.Load(), "two growers ran at once")
	assert.Equal(t, "POST app AgLeader/a", f.calls[0], "apps first")
	seenUser := map[string]bool{}
	for _, c := range f.calls {
		parts := strings.Fields(c)
		if parts[1] == "user" {
			seenUser[parts[2]] = true
		}
		if parts[1] == "credential" {
			ext, _, _ := strings.Cut(parts[2], "/")
			assert.True(t, seenUser[ext], "the user before its credentials: %s", c)
		}
	}
	seqs := map[int]bool{}
	for _, r := range records {
		assert.False(t, seqs[r.Seq])
		seqs[r.Seq] = true
	}
}

func TestApplySkipsCredentialsOfAUserNotCreated(t *testing.T) {
	f := newFake()
	f.onCreateUser = func(ext string) (error, bool) {
		if ext == "g01" {
			return &leaf.APIError{StatusCode: 400, Title: "bad"}, false
		}
		return nil, false
	}
	res := Apply(context.Background(), slices.Values(planFor(t, f, manifestOf(3)).Changes), f, Options{Concurrency: 2, Clock: &instantClock{}})
	recs := byID(res.Records)
	assert.Equal(t, report.StatusFailed, recs["user:g01"].Status)
	assert.Equal(t, "http-400", recs["user:g01"].ErrorCode)
	for _, p := range []string{"AgLeader", "Valley"} {
		r := recs["credential:g01/"+p]
		assert.Equal(t, report.StatusSkipped, r.Status)
		assert.Equal(t, report.CodeDependency, r.ErrorCode)
	}
	assert.Equal(t, report.StatusSucceeded, recs["credential:g02/Valley"].Status)
}

func TestApplyResolvesAmbiguousCreatesByLookupNeverCreatingTwice(t *testing.T) {
	f := newFake()
	lost := &leaf.AmbiguousError{Method: "POST", Path: "/users", Err: errors.New("connection reset")}
	f.onCreateUser = func(ext string) (error, bool) {
		switch ext {
		case "g00":
			return lost, true // committed, answer lost
		case "g01":
			return lost, false // never committed
		}
		return nil, false
	}
	f.onCreateCred = func(ext, provider string) (error, bool) {
		if ext == "g02" && provider == "AgLeader" {
			return lost, true
		}
		return nil, false
	}
	dir := t.TempDir()
	j, err := OpenJournal(filepath.Join(dir, "j.jsonl"), report.Header{RunID: "r1"})
	require.NoError(t, err)
	res := Apply(context.Background(), slices.Values(planFor(t, f, manifestOf(3)).Changes), f, Options{Concurrency: 3, Clock: &instantClock{},
		LookupWindow: 2 * time.Second, Journal: j, RunID: "r1"})
	require.NoError(t, j.Close())
	recs := byID(res.Records)

	assert.Equal(t, report.StatusSucceeded, recs["user:g00"].Status)
	assert.True(t, recs["user:g00"].ResolvedByLookup)
	assert.Equal(t, report.StatusSucceeded, recs["credential:g00/Valley"].Status, "the grower goes on with the user found")
	assert.Equal(t, report.StatusFailed, recs["user:g01"].Status)
	assert.Equal(t, report.CodeNotCreated, recs["user:g01"].ErrorCode)
	assert.Equal(t, report.StatusSucceeded, recs["credential:g02/AgLeader"].Status)
	assert.True(t, recs["credential:g02/AgLeader"].ResolvedByLookup)
	assert.Equal(t, int64(2+2*maxPosts), res.Lookups, "g00 and g02's credential once, g01 after each of its posts, "+
		"with a lookup of a user created before it each time (the lists must show it before g01 is taken as absent)")
	posts := map[string]int{}
	for _, c := range f.calls {
		posts[c]++
	}
	assert.Equal(t, 1, posts["POST user g00"], "found by lookup: not posted again")
	assert.Equal(t, maxPosts, posts["POST user g01"], "posted again only after a lookup proved it absent")
	for ext, n := range f.posts {
		assert.LessOrEqual(t, n, 1, "users created for %s", ext)
	}
	for k, n := range f.credPost {
		assert.Equal(t, 1, n, "credential POSTs for %s", k)
	}

	lines, err := report.ReadJournal(mustOpen(t, filepath.Join(dir, "j.jsonl")))
	require.NoError(t, err)
	p := report.PriorFromJournal(lines)
	assert.Empty(t, p.Unresolved, "every intent has an outcome")
	assert.Equal(t, recs["user:g00"].LeafUserID, p.Created["g00"], "the journal knows the user found by lookup")
	assert.Len(t, p.Done(), 7, "the app, two users and four credentials")
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestApplyCredentialConflictIsLookedUp(t *testing.T) {
	f := newFake()
	p := planFor(t, f, manifestOf(2))
	// Someone attaches g00's Valley credential (with other values) and g01's AgLeader (the same)
	// between the plan and the apply.
	f.onCreateUser = func(ext string) (error, bool) { return nil, false }
	res := Apply(context.Background(), slices.Values(p.Changes[:1]), f, Options{Clock: &instantClock{}}) // the app
	require.Len(t, res.Records, 1)
	done := map[string]string{}
	f.onCreateCred = func(ext, provider string) (error, bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if done[ext+provider] != "" {
			return nil, false
		}
		var u *leaf.User
		for _, x := range f.users {
			if x.ExternalID == ext {
				u = x
			}
		}
		pr, _ := leaf.LookupProvider(provider)
		switch {
		case ext == "g00" && provider == "Valley":
			u.Credentials = append(u.Credentials, &leaf.Credential{Provider: pr, ID: "other", Fields: leaf.FieldsFromMap(map[string]string{"apid": "someone-else"})})
		case ext == "g01" && provider == "AgLeader":
			u.Credentials = append(u.Credentials, &leaf.Credential{Provider: pr, ID: "same", Fields: leaf.FieldsFromMap(map[string]string{"publicKey": "p", "privateKey": "k"})})
		}
		done[ext+provider] = "x"
		return nil, false
	}
	res = Apply(context.Background(), slices.Values(p.Changes[1:]), f, Options{Clock: &instantClock{}})
	recs := byID(res.Records)
	assert.Equal(t, report.CodeExistsDifferent, recs["credential:g00/Valley"].ErrorCode)
	assert.Equal(t, report.StatusSucceeded, recs["credential:g01/AgLeader"].Status)
	assert.True(t, recs["credential:g01/AgLeader"].ResolvedByLookup)
}

func TestApplyStopsOnAuthFailureAndOnStop(t *testing.T) {
	f := newFake()
	var n atomic.Int64
	f.onCreateUser = func(ext string) (error, bool) {
		if n.Add(1) == 3 {
			return &leaf.AuthError{Err: errors.New("401")}, false
		}
		return nil, false
	}
	p := planFor(t, f, manifestOf(30))
	res := Apply(context.Background(), slices.Values(p.Changes), f, Options{Concurrency: 1, Clock: &instantClock{}})
	require.Error(t, res.Fatal)
	assert.True(t, leaf.IsAuth(res.Fatal))
	counts := report.Summarize(res.Records, 0, nil, 0, 0)
	assert.Equal(t, len(p.Changes), counts.Total(), "every change has a record")
	assert.Positive(t, counts.Pending)
	assert.Less(t, len(f.calls), 10, "nothing more was sent after the authentication failure")

	f2 := newFake()
	stop := make(chan struct{})
	close(stop)
	res = Apply(context.Background(), slices.Values(planFor(t, f2, manifestOf(5)).Changes), f2, Options{Stop: stop, Clock: &instantClock{}})
	assert.True(t, res.Interrupted)
	for _, r := range res.Records {
		assert.Equal(t, report.StatusPending, r.Status)
	}
	assert.Empty(t, f2.calls)
}

func TestJournalGroupCommitKeepsEveryLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := OpenJournal(path, report.Header{RunID: "r"})
	require.NoError(t, err)
	c := &plan.Change{ID: "user:x", Kind: plan.KindUser, Action: plan.ActionCreate}
	var wg sync.WaitGroup
	errs := make(chan error, 20*50)
	for w := range 20 {
		wg.Go(func() {
			for i := range 50 {
				errs <- j.Outcome(c, "post", w, "", report.OutcomeSucceeded, fmt.Sprintf("%d-%d", w, i), 200, "")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	syncs := j.syncs.Load()
	require.NoError(t, j.Close())
	assert.Less(t, syncs, int64(20*50), "concurrent writers share fsyncs (%d fsyncs for %d lines)", syncs, 20*50)
	t.Logf("%d fsyncs for %d lines", syncs, 20*50+1)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 1+20*50)
	last := map[int]int{}
	for _, l := range lines[1:] {
		var jl report.Outcome
		require.NoError(t, json.Unmarshal([]byte(l), &jl))
		var w, i int
		fmt.Sscanf(jl.LeafID, "%d-%d", &w, &i)
		assert.Equal(t, last[w], i, "a writer's lines stay in order")
		last[w] = i + 1
	}
}

// A lazy plan's changes are computed as the run goes: Apply takes a grower's changes only once
// a worker is free for it, so that the run never holds more of the plan than what is in flight.
func TestApplyTakesChangesAsWorkersFreeUp(t *testing.T) {
	f := newFake()
	p := planFor(t, f, manifestOf(40))
	var yielded, finished atomic.Int64
	var ahead atomic.Int64 // the most changes taken and not yet finished
	changes := func(yield func(*plan.Change) bool) {
		for _, c := range p.Changes {
			n := yielded.Add(1) - finished.Load()
			if n > ahead.Load() {
				ahead.Store(n)
			}
			if !yield(c) {
				return
			}
		}
	}
	const workers = 2
	res := Apply(context.Background(), changes, f, Options{Concurrency: workers, Clock: &instantClock{},
		OnRecord: func(report.Record) { finished.Add(1) }})
	require.Nil(t, res.Fatal)
	assert.Equal(t, int64(len(p.Changes)), finished.Load(), "every change has a record")
	// A grower has three changes: the workers' growers, the one waiting for a worker, and the
	// first change of the next grower (which tells the waiting grower is complete).
	assert.LessOrEqual(t, ahead.Load(), int64((workers+1)*3+1), "changes were taken ahead of the workers")
}

// Plans list apps first; an app listed after growers is still applied, on its own.
func TestApplyRunsAnAppListedLate(t *testing.T) {
	f := newFake()
	p := planFor(t, f, manifestOf(2))
	require.Equal(t, plan.KindApp, p.Changes[0].Kind)
	late := append(slices.Clone(p.Changes[1:]), p.Changes[0])
	res := Apply(context.Background(), slices.Values(late), f, Options{Concurrency: 2, Clock: &instantClock{}})
	require.Nil(t, res.Fatal)
	require.Len(t, res.Records, len(p.Changes))
	for _, r := range res.Records {
		assert.Equal(t, report.StatusSucceeded, r.Status, r.ChangeID)
	}
}

// A stop in the middle of a streamed plan: the changes in flight finish, and every change taken
// after it, to the end of the plan, is recorded pending; none is sent.
func TestApplyStopMidStreamLeavesTheRestPending(t *testing.T) {
	f := newFake()
	p := planFor(t, f, manifestOf(30))
	stop := make(chan struct{})
	var once sync.Once
	var sentAfterStop atomic.Int64
	var stopped atomic.Bool
	f.onCreateUser = func(ext string) (error, bool) {
		if stopped.Load() {
			sentAfterStop.Add(1)
		}
		if ext == "g05" {
			once.Do(func() { close(stop); stopped.Store(true) })
		}
		return nil, false
	}
	res := Apply(context.Background(), slices.Values(p.Changes), f, Options{Concurrency: 1, Stop: stop, Clock: &instantClock{}})
	require.Nil(t, res.Fatal)
	assert.True(t, res.Interrupted)
	require.Len(t, res.Records, len(p.Changes), "every change has a record")
	recs := byID(res.Records)
	assert.Equal(t, report.StatusSucceeded, recs["user:g05"].Status, "the change in flight finished")
	for _, ext := range []string{"g06", "g29"} {
		assert.Equal(t, report.StatusPending, recs["user:"+ext].Status, ext)
		assert.Equal(t, report.StatusPending, recs["credential:"+ext+"/AgLeader"].Status, ext)
	}
	assert.Zero(t, sentAfterStop.Load(), "no user create went out after the stop")
}
