package main

import (
	"bytes"
	"os"
	osexec "os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// SIGINT is handled from the first line of main, even when the shell that started leaf-import
// ignores it: a plan or an apply interrupted while it reads Leaf exits 130 with a message, and
// leaves no run directory and nothing in the current directory.
func TestInterruptWhileReadingExits130(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("latency=3s"))
	dir, cwd := t.TempDir(), t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(3), nil, "")
	for _, command := range []string{"plan", "apply"} {
		t.Run(command, func(t *testing.T) {
			before := ts.Stats().Requests.Total
			var stderr bytes.Buffer
			c := osexec.Command("sh", "-c", `trap "" INT; exec "$0" "$@"`, leafImportBinary(t), command, manifest, "--rate", "0")
			c.Dir, c.Stderr = cwd, &stderr
			c.Env = append(os.Environ(), "LEAF_API_URL="+ts.URL, "LEAF_USERNAME=sandbox", "LEAF_PASSWORD=sandbox",
				"LEAF_IMPORT_STATE_DIR="+stateDirOf(ts))
			require.NoError(t, c.Start())
			require.True(t, waitFor(10*time.Second, func() bool { return ts.Stats().Requests.Total > before }), "it is reading Leaf")
			start := time.Now()
			require.NoError(t, c.Process.Signal(syscall.SIGINT))
			err := c.Wait()
			var ee *osexec.ExitError
			require.ErrorAs(t, err, &ee, stderr.String())
			assert.Equal(t, exitInterrupted, ee.ExitCode(), stderr.String())
			assert.Less(t, time.Since(start), 2*time.Second, "at once, not after the read")
			assert.Contains(t, stderr.String(), "interrupted")
		})
	}
	emptyDir(t, cwd)
	assert.Empty(t, runsOf(t, sandboxEnv(ts, nil)), "no run directory")
	assert.Zero(t, ts.Stats().Mutations.UserCreates)
}
