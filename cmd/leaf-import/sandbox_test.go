package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// startSandboxCmd runs `leaf-import sandbox` in-process and returns its URL and a stop func.
func startSandboxCmd(t *testing.T, opts SandboxOptions) (string, func() error) {
	t.Helper()
	var out bytes.Buffer
	opts.IO = &IOStreams{Out: &out, ErrOut: &out}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Username == "" {
		opts.Username, opts.Password = "sandbox", "sandbox"
	}
	opts.SaveInterval = 20 * time.Millisecond
	urlc := make(chan string, 1)
	opts.ready = func(u string) { urlc <- u }
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- runSandbox(ctx, &opts) }()
	select {
	case u := <-urlc:
		assert.Contains(t, out.String(), "export LEAF_API_URL="+u)
		return u, func() error { cancel(); return <-errc }
	case err := <-errc:
		cancel()
		t.Fatalf("sandbox did not start: %v", err)
	}
	return "", nil
}

func TestSandboxCommandPersistsItsState(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "sandbox.json")
	url, stop := startSandboxCmd(t, SandboxOptions{StatePath: statePath})
	c, err := leaf.NewClient(leaf.WithBaseURL(url), leaf.WithLogin("sandbox", "sandbox"))
	require.NoError(t, err)
	ext := "persisted"
	_, err = c.CreateUser(context.Background(), leaf.UserFields{ExternalID: &ext})
	require.NoError(t, err)
	require.NoError(t, stop())
	info, err := os.Stat(statePath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	url, stop = startSandboxCmd(t, SandboxOptions{StatePath: statePath})
	defer func() { _ = stop() }()
	c, err = leaf.NewClient(leaf.WithBaseURL(url), leaf.WithLogin("sandbox", "sandbox"))
	require.NoError(t, err)
	users, err := c.ListUsers(context.Background(), leaf.UserFilter{ExternalID: ext})
	require.NoError(t, err)
	assert.Len(t, users, 1, "the user survived the restart")
}

func TestSandboxCommandFlags(t *testing.T) {
	url, stop := startSandboxCmd(t, SandboxOptions{Username: "owner@example.com", Password: "pw", Faults: "lag=1h", RateLimit: "100/s", NoPatch: true})
	defer func() { _ = stop() }()
	c, err := leaf.NewClient(leaf.WithBaseURL(url), leaf.WithLogin("owner@example.com", "pw"))
	require.NoError(t, err)
	ctx := context.Background()
	ext := "x"
	u, err := c.CreateUser(ctx, leaf.UserFields{ExternalID: &ext})
	require.NoError(t, err)
	users, err := c.ListUsers(ctx, leaf.UserFilter{})
	require.NoError(t, err)
	assert.Empty(t, users, "--faults lag=1h hides the new user from lists")
	name := "renamed"
	_, err = c.UpdateUser(ctx, u.ID, leaf.UserFields{Name: &name})
	require.NoError(t, err, "--no-patch: the client falls back to PUT")

	for _, bad := range [][]string{{"sandbox", "--faults", "nonsense=1"}, {"sandbox", "--rate-limit", "10/h"}} {
		code, _, errOut := runCLI(t, nil, bad...)
		assert.Equal(t, 1, code, "%v: %s", bad, errOut)
	}
}
