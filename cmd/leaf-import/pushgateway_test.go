package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startPushgateway runs Debian's Pushgateway on a free loopback port, or skips the test.
func startPushgateway(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-pushgateway")
	if err != nil {
		if bin, err = exec.LookPath("pushgateway"); err != nil {
			t.Skip("the Pushgateway is not installed (scripts/test-tools.sh installs Debian's prometheus-pushgateway): --metrics-push is not checked against it")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--persistence.file=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + addr
	require.True(t, waitFor(10*time.Second, func() bool {
		resp, err := http.Get(url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}), "the Pushgateway started")
	return url
}

// scrape reads the Pushgateway's /metrics as Prometheus would.
func scrape(t *testing.T, url string) map[string]*promFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// apply, status and link-keys push to a real Pushgateway, one group per job and account; a
// failed run replaces its group and keeps the last success; nothing of a secret is pushed.
func TestMetricsPushToARealPushgateway(t *testing.T) {
	pg := startPushgateway(t)
	ts, manifest := attentionScenario(t, "")
	env := sandboxEnv(ts, nil)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--metrics-push", pg)
	require.Equal(t, exitAttention, code, stderr)
	code, _, stderr = runCLI(t, env, "status", manifest, "--rate", "0", "--metrics-push", pg, "--attention-exit-code", "0")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI(t, env, "link-keys", manifest, "--rate", "0", "--metrics-push", pg, "--out", filepath.Join(dir, "keys.csv"))
	require.Equal(t, 0, code, stderr)

	fams := scrape(t, pg)
	account := labelsOf(t, fams, "leaf_import_requests")[0]["account"]
	assert.Regexp(t, `^sandbox@localhost:\d+$`, account)
	for name, job := range map[string]string{"leaf_import_requests": "leaf_import_apply", "leaf_import_credentials": "leaf_import_status",
		"leaf_import_link_keys": "leaf_import_link_keys"} {
		for _, l := range labelsOf(t, fams, name) {
			assert.Equal(t, job, l["job"], name)
			assert.Equal(t, account, l["account"], name)
		}
	}
	success := value(t, fams, "leaf_import_last_success_timestamp_seconds", "job", "leaf_import_apply")
	assert.Positive(t, success)
	assert.Positive(t, value(t, fams, "leaf_import_link_keys", "result", "issued"))

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: 1\ngrowers:\n  - {email: nope}\n"), 0o600))
	code, _, _ = runCLI(t, env, "apply", bad, "--rate", "0", "--metrics-push", pg)
	require.Equal(t, exitError, code)
	fams = scrape(t, pg)
	assert.Equal(t, 1.0, value(t, fams, "leaf_import_last_run_outcome", "job", "leaf_import_apply", "outcome", "failed"))
	assert.Equal(t, 0.0, value(t, fams, "leaf_import_last_run_outcome", "job", "leaf_import_apply", "outcome", "attention"),
		"the push replaced the group")
	assert.Equal(t, success, value(t, fams, "leaf_import_last_success_timestamp_seconds", "job", "leaf_import_apply"))
	assert.Zero(t, value(t, fams, "leaf_import_requests", "job", "leaf_import_apply"))

	code, _, stderr = runCLI(t, env, "status", manifest, "--rate", "0", "--metrics-push", "ftp://x")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "--metrics-push")
	// A push that fails is an error that names the Pushgateway, never its password.
	code, _, stderr = runCLI(t, env, "status", manifest, "--rate", "0", "--metrics-push", "http://user:CANARY-pw@"+pg[len("http://"):]+"/wrong")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "--metrics-push")
	assert.NotContains(t, stderr, "CANARY-pw")
}
