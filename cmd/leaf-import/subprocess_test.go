package main

import (
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// leafImportBinary builds the command once per test process, for tests that need a real
// process to signal or kill.
func leafImportBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "leaf-import-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "leaf-import")
		out, err := osexec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// proc is a leaf-import process started by a test.
type proc struct {
	cmd    *osexec.Cmd
	stdout *os.File
	stderr *os.File
	done   chan struct{}
	err    error
}

// startProc runs leaf-import with args against the sandbox; its output is appended to files in
// dir (out.log, err.log).
func startProc(t testing.TB, ts *sandbox.TestServer, dir string, args ...string) *proc {
	t.Helper()
	return startProcIn(t, ts, dir, "", args)
}

// startProcIn is startProc with the process's working directory set to cwd ("" for the test's)
// and extra environment variables (NAME=VALUE) after the sandbox's.
func startProcIn(t testing.TB, ts *sandbox.TestServer, dir, cwd string, args []string, env ...string) *proc {
	t.Helper()
	cmd := osexec.Command(leafImportBinary(t), args...)
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), "LEAF_API_URL="+ts.URL, "LEAF_USERNAME=sandbox", "LEAF_PASSWORD=sandbox",
		"LEAF_IMPORT_STATE_DIR="+stateDirOf(ts))
	cmd.Env = append(cmd.Env, env...)
	out, err := os.OpenFile(filepath.Join(dir, "out.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	errf, err := os.OpenFile(filepath.Join(dir, "err.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = out, errf
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, stdout: out, stderr: errf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		errf.Close()
		close(p.done)
	}()
	return p
}

// wait waits for the process and returns its exit code, or -signal when a signal ended it.
func (p *proc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("leaf-import did not finish within %s", timeout)
	}
	ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return -int(ws.Signal())
	}
	return ws.ExitStatus()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitFor polls cond every 5 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

func readLog(t testing.TB, dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return string(b)
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
