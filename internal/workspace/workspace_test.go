package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/report"
)

func TestResolveAccount(t *testing.T) {
	cases := []struct {
		name     string
		in       AccountSettings
		want     Account
		err      error
		mismatch bool
	}{
		{"username", AccountSettings{URL: "https://API.withleaf.io/", Username: " Owner@Acme.com "},
			Account{URL: "https://api.withleaf.io", Owner: "owner@acme.com"}, nil, false},
		{"a token of the login's owner", AccountSettings{URL: "https://api.withleaf.io", Username: "A", TokenSubject: "a"},
			Account{URL: "https://api.withleaf.io", Owner: "a"}, nil, false},
		{"a token of another owner than the login", AccountSettings{URL: "https://api.withleaf.io", Username: "a", TokenSubject: "b"},
			Account{URL: "https://api.withleaf.io"}, nil, true},
		{"--account that agrees with the subject", AccountSettings{URL: "https://api.withleaf.io", Explicit: "Owner@acme.com", TokenSubject: "owner@ACME.com"},
			Account{URL: "https://api.withleaf.io", Owner: "owner@acme.com"}, nil, false},
		{"--account that disagrees with the subject", AccountSettings{URL: "https://api.withleaf.io", Explicit: "someone-else", TokenSubject: "sandbox"},
			Account{URL: "https://api.withleaf.io"}, nil, true},
		{"--account that disagrees with the login", AccountSettings{URL: "https://api.withleaf.io", Explicit: "someone-else", Username: "sandbox"},
			Account{URL: "https://api.withleaf.io"}, nil, true},
		{"--account for a token without a subject", AccountSettings{URL: "https://api.withleaf.io", Explicit: "Owner"},
			Account{URL: "https://api.withleaf.io", Owner: "owner"}, nil, false},
		{"token subject", AccountSettings{URL: "http://127.0.0.1:8089", TokenSubject: "sandbox"},
			Account{URL: "http://localhost:8089", Owner: "sandbox"}, nil, false},
		{"token without subject", AccountSettings{URL: "http://127.0.0.1:8089"}, Account{URL: "http://localhost:8089"}, ErrNoAccount, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ResolveAccount(c.in)
			assert.Equal(t, c.want, got)
			var mm *MismatchError
			assert.Equal(t, c.mismatch, errors.As(err, &mm), "%v", err)
			if c.err != nil {
				assert.ErrorIs(t, err, c.err)
			}
			if !c.mismatch && c.err == nil {
				assert.NoError(t, err)
			}
		})
	}
}

func TestOneAccountWhateverTheURLsSpelling(t *testing.T) {
	spellings := []string{"http://127.0.0.1:8089", "http://localhost:8089/", "HTTP://LocalHost.:8089//", "http://[::1]:8089",
		"http://127.0.0.2:8089", "http://user@localhost:8089?x=1#f", "http://app.localhost:8089"}
	first, err := ResolveAccount(AccountSettings{URL: spellings[0], Username: "sandbox"})
	require.NoError(t, err)
	for _, u := range spellings[1:] {
		a, err := ResolveAccount(AccountSettings{URL: u, Username: "Sandbox"})
		require.NoError(t, err)
		assert.Equal(t, first, a, "%s", u)
		assert.Equal(t, first.dirName(), a.dirName(), "%s", u)
	}
	for _, pair := range [][2]string{{"https://api.withleaf.io", "https://API.withleaf.io:443/"}, {"http://example.com", "http://example.com:80"}} {
		a, _ := ResolveAccount(AccountSettings{URL: pair[0], Username: "o"})
		b, _ := ResolveAccount(AccountSettings{URL: pair[1], Username: "o"})
		assert.Equal(t, a, b, "%v", pair)
	}
	a, _ := ResolveAccount(AccountSettings{URL: "http://localhost:8089", Username: "o"})
	b, _ := ResolveAccount(AccountSettings{URL: "http://localhost:8090", Username: "o"})
	assert.NotEqual(t, a, b, "another port is another server")
}

func TestOneLockPerOwnerAcrossURLs(t *testing.T) {
	root := t.TempDir()
	a, err := Open(root, Account{URL: "http://localhost:8089", Owner: "sandbox"})
	require.NoError(t, err)
	b, err := Open(root, Account{URL: "https://leaf.example", Owner: "sandbox"})
	require.NoError(t, err)
	other, err := Open(root, Account{URL: "https://leaf.example", Owner: "someone"})
	require.NoError(t, err)
	l, err := a.Lock(Holder{RunID: "r1", PID: os.Getpid()})
	require.NoError(t, err)
	_, err = b.Lock(Holder{RunID: "r2", PID: os.Getpid()})
	var le *LockedError
	require.ErrorAs(t, err, &le, "the owner's lock is held whatever the URL")
	assert.Equal(t, "r1", le.Holder.RunID)
	lo, err := other.Lock(Holder{RunID: "r3", PID: os.Getpid()})
	require.NoError(t, err, "another owner is another lock")
	lo.Release()
	l.Release()
	lb, err := b.Lock(Holder{RunID: "r4", PID: os.Getpid()})
	require.NoError(t, err)
	_, err = a.Lock(Holder{RunID: "r5", PID: os.Getpid()})
	require.ErrorAs(t, err, &le)
	lb.Release()
}

func TestAccountDirectoriesAreReadableAndDistinct(t *testing.T) {
	a := Account{URL: "http://localhost:8089", Owner: "sandbox"}
	assert.True(t, strings.HasPrefix(a.dirName(), "localhost_8089--sandbox--"), a.dirName())
	seen := map[string]Account{}
	for _, acct := range []Account{a, {URL: "http://127.0.0.1:8090", Owner: "sandbox"}, {URL: "http://127.0.0.1:8089", Owner: "sandbox2"},
		{URL: "https://api.withleaf.io", Owner: "a/b"}, {URL: "https://api.withleaf.io", Owner: "a_b"}, {URL: "https://api.withleaf.io", Owner: "../../etc"}} {
		name := acct.dirName()
		assert.NotContains(t, name, "/", "one path element")
		assert.NotEqual(t, "..", name)
		_, dup := seen[name]
		assert.False(t, dup, "%v and %v share %s", acct, seen[name], name)
		seen[name] = acct
	}
}

func TestRoot(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	r, err := Root("/flag", env("LEAF_IMPORT_STATE_DIR", "/env"))
	require.NoError(t, err)
	assert.Equal(t, "/flag", r)
	r, _ = Root("", env("LEAF_IMPORT_STATE_DIR", "/env", "XDG_STATE_HOME", "/xdg"))
	assert.Equal(t, "/env", r)
	r, _ = Root("", env("XDG_STATE_HOME", "/xdg", "HOME", "/home/u"))
	assert.Equal(t, "/xdg/leaf-import", r)
	r, _ = Root("", env("HOME", "/home/u"))
	assert.Equal(t, "/home/u/.local/state/leaf-import", r)
}

func openWS(t *testing.T) *Workspace {
	t.Helper()
	ws, err := Open(t.TempDir(), Account{URL: "http://127.0.0.1:1", Owner: "sandbox"})
	require.NoError(t, err)
	info, err := os.Stat(ws.Dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	return ws
}

// One key per workspace, created once even by processes racing to create it.
func TestFingerprintKeyIsCreatedOnce(t *testing.T) {
	ws := openWS(t)
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := ws.FingerprintKey()
			assert.NoError(t, err)
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys {
		assert.Len(t, k, 32)
		assert.Equal(t, keys[0], k)
	}
	info, err := os.Stat(filepath.Join(ws.Dir, keyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assert.Zero(t, ws.KeyModeFixed())

	// A key others can read (a copy that lost its mode) is made 0600 again, and the caller told.
	require.NoError(t, os.Chmod(filepath.Join(ws.Dir, keyFile), 0o644))
	again, err := ws.FingerprintKey()
	require.NoError(t, err)
	assert.Equal(t, keys[0], again, "the same key")
	info, err = os.Stat(filepath.Join(ws.Dir, keyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assert.Equal(t, os.FileMode(0o644), ws.KeyModeFixed())

	require.NoError(t, os.WriteFile(filepath.Join(ws.Dir, keyFile), []byte("short"), 0o600))
	_, err = ws.FingerprintKey()
	assert.ErrorContains(t, err, "damaged", "a damaged key is not silently replaced")
	assert.ErrorContains(t, err, filepath.Join(ws.Dir, keyFile), "the file is named")
}

func TestLockNamesItsHolderAndIsReleased(t *testing.T) {
	ws := openWS(t)
	h := Holder{RunID: "r1", PID: os.Getpid(), Host: "here", StartedAt: time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)}
	l, err := ws.Lock(h)
	require.NoError(t, err)
	_, err = ws.Lock(Holder{RunID: "r2", PID: 1})
	var le *LockedError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "r1", le.Holder.RunID)
	assert.Contains(t, err.Error(), "run r1, pid ")
	assert.Contains(t, err.Error(), "started 2026-11-30T02:00:00Z")
	l.Release()
	_, err = ws.Holder()
	assert.Error(t, err, "a free lock names no holder")
	l2, err := ws.Lock(Holder{RunID: "r3", PID: os.Getpid()})
	require.NoError(t, err, "taken again once released")
	l2.Release()
}

func newRun(t *testing.T, ws *Workspace, id string, started time.Time, settled bool) *Run {
	t.Helper()
	r, err := ws.NewRun(Meta{RunID: id, StartedAt: started, Status: RunSucceeded, Settled: settled})
	require.NoError(t, err)
	return r
}

func TestRunsAreListedNewestFirstAndPruned(t *testing.T) {
	ws := openWS(t)
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"r1", "r2", "r3", "r4"} {
		newRun(t, ws, id, t0.Add(time.Duration(i)*time.Hour), id != "r1")
	}
	runs, err := ws.Runs()
	require.NoError(t, err)
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.Meta.RunID)
	}
	assert.Equal(t, []string{"r4", "r3", "r2", "r1"}, ids)

	removed, err := ws.Prune(1, "r4")
	require.NoError(t, err)
	assert.Equal(t, []string{"r3", "r2"}, removed, "r1 is still in doubt: it stays until a run settles it")
	runs, _ = ws.Runs()
	assert.Len(t, runs, 2)

	r, err := ws.FindRun(filepath.Join(runs[0].Dir, "report.json"))
	require.NoError(t, err)
	require.NotNil(t, r)
	assert.Equal(t, "r4", r.Meta.RunID, "a run is found by its report")
}

// A run whose metadata says running is crashed unless a live process holds the lock for it.
func TestStatusTellsCrashedFromRunning(t *testing.T) {
	ws := openWS(t)
	r, err := ws.NewRun(Meta{RunID: "r1", StartedAt: time.Now(), Status: RunRunning})
	require.NoError(t, err)
	assert.Equal(t, RunCrashed, ws.Status(r))
	host, _ := os.Hostname()
	l, err := ws.Lock(Holder{RunID: "r1", PID: os.Getpid(), Host: host})
	require.NoError(t, err)
	assert.Equal(t, RunRunning, ws.Status(r))
	l.Release()
}

// History reads the creates of recent runs and the runs in doubt, from the journal or, when
// the journal is gone, from the report.
func TestHistory(t *testing.T) {
	ws := openWS(t)
	now := time.Now()
	old := newRun(t, ws, "r-old", now.Add(-48*time.Hour), true)
	writeLines(t, old.Journal(), &report.Header{RunID: "r-old"},
		&report.Outcome{StepRef: report.StepRef{RunID: "r-old", ChangeID: "user:a", Kind: "user", Step: report.StepPost, ExternalID: "a"}, Status: report.OutcomeSucceeded, LeafID: "u-a"})
	crashed, err := ws.NewRun(Meta{RunID: "r-crashed", StartedAt: now.Add(-time.Minute), Status: RunRunning})
	require.NoError(t, err)
	writeLines(t, crashed.Journal(), &report.Header{RunID: "r-crashed"},
		&report.Outcome{StepRef: report.StepRef{RunID: "r-crashed", ChangeID: "user:b", Kind: "user", Step: report.StepPost, ExternalID: "b"}, Status: report.OutcomeSucceeded, LeafID: "u-b"},
		&report.Intent{StepRef: report.StepRef{RunID: "r-crashed", ChangeID: "user:c", Kind: "user", Step: report.StepPost, ExternalID: "c"}})
	gone := newRun(t, ws, "r-gone", now.Add(-30*time.Second), false)
	rep := &report.Report{FormatVersion: report.FormatVersion, Run: report.Run{ID: "r-gone"}, Records: []report.Record{
		{ChangeID: "user:d", Kind: "user", Action: "create", ExternalID: "d", LeafUserID: "u-d", Status: report.StatusSucceeded}}}
	require.NoError(t, rep.Save(gone.ReportPath()))

	h, err := ws.History(now)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"b": "u-b", "d": "u-d"}, h.Created, "recent runs' creates; not a run of two days ago")
	require.Len(t, h.InDoubt, 2)
	assert.Equal(t, "r-crashed", h.InDoubt[0].Run.Meta.RunID)
	require.Len(t, h.InDoubt[0].Prior.Unresolved, 1)
	assert.Equal(t, "c", h.InDoubt[0].Prior.Unresolved[0].ExternalID)
	assert.True(t, h.InDoubt[1].FromReport, "r-gone has lost its journal")
}

func writeLines(t *testing.T, path string, ls ...report.Line) {
	t.Helper()
	var b strings.Builder
	for _, l := range ls {
		enc, err := report.EncodeLine(l, time.Now())
		require.NoError(t, err)
		b.Write(enc)
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
}
