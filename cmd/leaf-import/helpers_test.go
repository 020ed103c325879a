package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// testStateRoot holds the account workspaces of the tests' sandboxes (never the user's own).
var testStateRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leaf-import-state-")
	if err != nil {
		panic(err)
	}
	testStateRoot = dir
	code := m.Run()
	// LEAF_IMPORT_TEST_KEEP_STATE=1 keeps the tests' account workspaces, to look at after a
	// failure.
	if os.Getenv("LEAF_IMPORT_TEST_KEEP_STATE") == "" {
		_ = os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "the tests' account workspaces are kept in", dir)
	}
	os.Exit(code)
}

// fastRetries makes the CLI's clients back off in milliseconds, not seconds, so that fault
// tests stay fast.
func fastRetries() leaf.Option {
	return leaf.WithBackoff(leaf.Backoff{Base: time.Millisecond, Cap: 20 * time.Millisecond, Attempts: 6,
		FirstContact: 200 * time.Millisecond})
}

var stateDirs sync.Map // *sandbox.TestServer -> its state directory

// stateDirOf is the state directory of the runs against ts: one per sandbox, so that a port
// reused by a later test's sandbox never meets an earlier test's history.
func stateDirOf(ts *sandbox.TestServer) string {
	if d, ok := stateDirs.Load(ts); ok {
		return d.(string)
	}
	d, err := os.MkdirTemp(testStateRoot, "ts-")
	if err != nil {
		panic(err)
	}
	actual, _ := stateDirs.LoadOrStore(ts, d)
	return actual.(string)
}

// runCLI runs the command line in-process and returns exit code, stdout and stderr.
func runCLI(t testing.TB, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return runCLIContext(context.Background(), t, env, args...)
}

func runCLIContext(ctx context.Context, t testing.TB, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}
	code := run(ctx, args, io, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}, fastRetries())
	return code, out.String(), errOut.String()
}
