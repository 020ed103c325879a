package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
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

// The sandbox stays on loopback: another address is refused without --public, and with it the
// admin endpoints are named in a warning and the URL printed is one the client accepts.
func TestSandboxStaysLocal(t *testing.T) {
	code, _, errOut := runCLI(t, nil, "sandbox", "--addr", "0.0.0.0:0")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "refusing to listen on 0.0.0.0:0")
	assert.Contains(t, errOut, "--public")

	var out bytes.Buffer
	opts := SandboxOptions{IO: &IOStreams{Out: &out, ErrOut: &out}, Addr: "0.0.0.0:0", Public: true, Username: "sandbox",
		Password: "sandbox", SaveInterval: time.Second}
	urlc := make(chan string, 1)
	opts.ready = func(u string) { urlc <- u }
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- runSandbox(ctx, &opts) }()
	url := <-urlc
	defer func() { cancel(); <-errc }()
	assert.Contains(t, out.String(), "WARNING")
	assert.Contains(t, out.String(), "/__sandbox/state")
	assert.Regexp(t, `^http://127\.0\.0\.1:[0-9]+$`, url)
	c, err := leaf.NewClient(leaf.WithBaseURL(url), leaf.WithLogin("sandbox", "sandbox"))
	require.NoError(t, err, "the client accepts the printed URL")
	require.NoError(t, c.Authenticate(context.Background()))
}

// Request bodies over 1 MiB are answered 413 and change nothing; a malformed state document is
// refused with 400 and leaves the state as it was.
func TestSandboxBoundsBodiesAndValidatesState(t *testing.T) {
	ts := sandbox.NewServer(t)
	ts.AddUser(&sandbox.User{ExternalID: "kept"})
	token := sandboxToken(t, ts)
	big := `{"externalId":"huge","name":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(strings.NewReader(big)) // no length known: read until the limit
		}
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/services/usermanagement/api/users", body)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "chunked=%v", chunked)
	}
	assert.Len(t, ts.State().Users, 1, "nothing was created")

	for _, doc := range []string{`null`, `{"name":1}`, `[]`, `{"users":[null]}`, `{"users":[]} {}`, ``,
		`{}`, `{"version":1,"users":null}`, `{"version":1}`, `{"users":[]}`, `{"version":2,"users":[]}`} {
		req, err := http.NewRequest(http.MethodPut, ts.URL+"/__sandbox/state", strings.NewReader(doc))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "PUT %q", doc)
	}
	require.Len(t, ts.State().Users, 1, "the state was not wiped")
	assert.Equal(t, "kept", ts.State().Users[0].ExternalID)

	// The admin body is bounded (README: 128 MiB); a larger one is refused, the state kept.
	huge := io.MultiReader(io.LimitReader(zeroSpaces{}, 129<<20), strings.NewReader(`{"version":1,"users":[]}`))
	req, err := http.NewRequest(http.MethodPut, ts.URL+"/__sandbox/state", huge)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Len(t, ts.State().Users, 1, "the state was not wiped")
}

// zeroSpaces reads as endless JSON whitespace.
type zeroSpaces struct{}

func (zeroSpaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}
