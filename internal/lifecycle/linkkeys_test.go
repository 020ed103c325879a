package lifecycle

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/report"
)

// keysRun is a link-keys run of growers g1 (no connection: must connect) against ts.
func keysRun(t *testing.T, ts *sandbox.TestServer, root string, mod func(*LinkKeysOptions)) (*LinkKeysResult, error) {
	t.Helper()
	o := LinkKeysOptions{Options: options(t, ts, root), Out: filepath.Join(root, "keys.csv"), For: ForAll,
		ExpiresIn: time.Hour, Concurrency: 2}
	o.Manifest = manifestOf(t, "growers:\n  - externalId: g1\n    name: G\n")
	if mod != nil {
		mod(&o)
	}
	return LinkKeys(t.Context(), o)
}

// An interrupted --rotate (the new key issued, the old one not yet revoked) leaves a grower two
// valid keys. The next run revokes the older and keeps the newer: a grower never holds two.
func TestLinkKeysKeepsOneValidKeyAfterAnInterruptedRotate(t *testing.T) {
	ts := sandbox.NewServer(t)
	id := ts.AddUser(&sandbox.User{ExternalID: "g1"}).ID
	c := ts.Client(t)
	older, newer := LabelPrefix+"20261201T010000Z-aaaaaa 0001", LabelPrefix+"20261202T010000Z-bbbbbb 0002"
	for _, label := range []string{newer, older} {
		_, err := c.CreateAPIKey(t.Context(), id, 3600, label)
		require.NoError(t, err)
	}

	res, err := keysRun(t, ts, t.TempDir(), nil)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Revoked, "the older key is revoked")
	assert.Equal(t, 1, res.Kept, "the newer key is kept")
	assert.Zero(t, res.Issued)
	valid, _ := keysOf(t, c, id)
	require.Len(t, valid, 1)
	assert.Equal(t, newer, valid[0].Description)
}

// --revoke-expired revokes the expired keys leaf-import issued (and only those); without it they
// stay as they are.
func TestLinkKeysRevokeExpired(t *testing.T) {
	var offset atomic.Int64
	ts := sandbox.NewServer(t, sandbox.WithClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
	id := ts.AddUser(&sandbox.User{ExternalID: "g1"}).ID
	c := ts.Client(t)
	_, err := c.CreateAPIKey(t.Context(), id, 900, LabelPrefix+"20261201T010000Z-aaaaaa 0001")
	require.NoError(t, err)
	_, err = c.CreateAPIKey(t.Context(), id, 900, "another tool's key")
	require.NoError(t, err)
	offset.Store(int64(time.Hour)) // both expired now

	root := t.TempDir()
	res, err := keysRun(t, ts, root, nil)
	require.NoError(t, err)
	assert.Zero(t, res.Revoked, "without --revoke-expired nothing is revoked")
	assert.Equal(t, 1, res.Issued, "g1 has no valid key: a new one")

	res, err = keysRun(t, ts, root, func(o *LinkKeysOptions) { o.RevokeExpired = true })
	require.NoError(t, err)
	assert.Equal(t, 1, res.Revoked, "the expired key leaf-import issued is revoked")
	assert.Equal(t, 1, res.Kept)
	_, revoked := keysOf(t, c, id)
	require.Len(t, revoked, 1)
	for _, k := range ts.State().APIKeys {
		if k.Description == "another tool's key" {
			assert.Empty(t, k.RevokedAt, "a key another tool issued is left alone")
		}
	}
}

// A revoke whose intent cannot be journaled is not sent, and is reported failed: never as done.
func TestARevokeThatCannotBeJournaledIsNotSent(t *testing.T) {
	ts := sandbox.NewServer(t)
	u := ts.AddUser(&sandbox.User{ExternalID: "g1"})
	c := ts.Client(t)
	label := LabelPrefix + "20261201T010000Z-aaaaaa 0001"
	_, err := c.CreateAPIKey(t.Context(), u.ID, 3600, label)
	require.NoError(t, err)
	keys, err := c.ListAPIKeys(t.Context(), u.ID)
	require.NoError(t, err)
	require.Len(t, keys, 1)

	dir := t.TempDir()
	j, err := exec.OpenJournal(filepath.Join(dir, "journal.jsonl"), report.Header{RunID: "r"})
	require.NoError(t, err)
	require.NoError(t, j.Close()) // every later line fails
	o := options(t, ts, dir)
	sh := &Shell{o: &o, runID: "r", journal: j, rw: report.NewWriter(filepath.Join(dir, "report.json"), report.Run{ID: "r"}, nil)}
	k := &keyRun{o: &LinkKeysOptions{Options: o}, sh: sh, res: &LinkKeysResult{}}
	g := manifestOf(t, "growers:\n  - externalId: g1\n    name: G\n").Growers[0]
	err = k.revoke(context.Background(), g, &leaf.User{ID: u.ID, ExternalID: "g1"}, keys[0], "rotated")
	require.Error(t, err)
	assert.True(t, exec.IsJournal(err), "%v", err)
	assert.Zero(t, k.res.Revoked)
	assert.Equal(t, 1, k.res.Failed)
	valid, _ := keysOf(t, c, u.ID)
	require.Len(t, valid, 1, "no DELETE was sent")
	assert.Equal(t, label, valid[0].Description)
}
