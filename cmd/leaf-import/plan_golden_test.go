package main

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenCase is a directory of testdata/plan: a manifest (YAML, and CSV where the case can be
// written as CSV), the Leaf state to plan against (state.json, a sandbox state), the flags
// (args), the environment for references (env), and the golden outputs per manifest format:
// plan-<fmt>.txt, plan-<fmt>.json, exitcode.
type goldenCase struct {
	dir  string
	args []string
	env  map[string]string
}

func readGoldenCase(t *testing.T, dir string) goldenCase {
	t.Helper()
	c := goldenCase{dir: dir, env: map[string]string{}}
	if b, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
		c.args = strings.Fields(string(b))
	}
	if f, err := os.Open(filepath.Join(dir, "env")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				c.env[k] = v
			}
		}
		f.Close()
	}
	return c
}

// sandboxFor starts a sandbox holding the case's state.
func sandboxFor(t testing.TB, dir string) *sandbox.TestServer {
	t.Helper()
	var opts []sandbox.Option
	if b, err := os.ReadFile(filepath.Join(dir, "state.json")); err == nil {
		st, err := sandbox.UnmarshalState(b)
		require.NoError(t, err)
		opts = append(opts, sandbox.WithState(st))
	}
	return sandbox.NewServer(t, opts...)
}

func sandboxEnv(ts *sandbox.TestServer, extra map[string]string) map[string]string {
	env := map[string]string{
		"LEAF_API_URL": ts.URL, "LEAF_USERNAME": "sandbox", "LEAF_PASSWORD": "sandbox",
		"LEAF_IMPORT_FINGERPRINT_KEY": "golden", "LEAF_IMPORT_STATE_DIR": stateDirOf(ts),
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// golden compares got with the golden file, or rewrites it under -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing; run go test ./cmd/leaf-import -run Golden -update")
	assert.Equal(t, string(want), got, "output differs from %s (rerun with -update to accept)", path)
}

func TestPlanGolden(t *testing.T) {
	dirs, err := filepath.Glob("../../testdata/plan/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		c := readGoldenCase(t, dir)
		for _, format := range []string{"yaml", "csv"} {
			manifest := filepath.Join(dir, "manifest."+format)
			if _, err := os.Stat(manifest); err != nil {
				continue
			}
			t.Run(filepath.Base(dir)+"/"+format, func(t *testing.T) {
				ts := sandboxFor(t, dir)
				env := sandboxEnv(ts, c.env)
				norm := func(s string) string { return strings.ReplaceAll(s, dir+string(filepath.Separator), "") }

				code, out, stderr := runCLI(t, env, append([]string{"plan", manifest, "--rate", "0"}, c.args...)...)
				golden(t, filepath.Join(dir, "plan-"+format+".txt"), norm(out))
				golden(t, filepath.Join(dir, "exitcode"), strconv.Itoa(code)+"\n")
				if code == exitError {
					assert.Contains(t, stderr, "nothing was sent")
				}

				code2, js, _ := runCLI(t, env, append([]string{"plan", manifest, "--rate", "0", "--format", "json"}, c.args...)...)
				assert.Equal(t, code, code2, "the same exit code in both formats")
				golden(t, filepath.Join(dir, "plan-"+format+".json"), norm(js))

				st := ts.Stats()
				for m, n := range st.Requests.ByMethod {
					assert.Equal(t, "GET", m, "plan sent %d %s requests", n, m)
				}
			})
		}
	}
}
