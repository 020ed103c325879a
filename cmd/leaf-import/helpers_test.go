package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

func TestMain(m *testing.M) {
	// Retries back off in milliseconds, not seconds, so that fault tests stay fast.
	testClientOptions = []leaf.Option{leaf.WithBackoff(leaf.Backoff{Base: time.Millisecond, Cap: 20 * time.Millisecond, Attempts: 6})}
	os.Exit(m.Run())
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
	})
	return code, out.String(), errOut.String()
}
