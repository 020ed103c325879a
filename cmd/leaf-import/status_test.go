package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// status lists an INVALID credential whose token the manifest cannot renew (exit 6), with its
// latest error event, and a manifest connection Leaf lacks; it reads ceil(users/100) pages and
// one events request per unhealthy credential, never one request per grower.
func TestStatusNamesWhatNeedsAPerson(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	growers := []growerSpec{{ext: "g1", providers: []string{"JohnDeere"}}, {ext: "g2", providers: []string{"JohnDeere"}},
		{ext: "g3", providers: []string{"CNHI"}}}
	manifest := writeManifest(t, dir, growers, nil, "")
	env := sandboxEnv(ts, nil)
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)

	code, out, stderr := runCLI(t, env, "status", "--rate", "0")
	require.Equal(t, 0, code, "all healthy: %s %s", out, stderr)
	assert.Contains(t, out, "Every connection is healthy.")

	var g2 *sandbox.User
	for _, u := range ts.State().Users {
		if u.ExternalID == "g2" {
			g2 = u
		}
	}
	require.NotNil(t, g2)
	_, err := ts.UpdateCredential(g2.ID, mustProvider("JohnDeere"), map[string]string{"status": "INVALID"})
	require.NoError(t, err)
	growers[2].providers = append(growers[2].providers, "AgLeader") // a connection Leaf lacks
	withMissing := writeManifest(t, t.TempDir(), growers, nil, "")

	ts.ResetStats()
	code, out, _ = runCLI(t, env, "status", withMissing, "--rate", "0", "--format", "json")
	assert.Equal(t, exitAttention, code)
	st := ts.Stats()
	assert.Equal(t, 3, st.Requests.Total, "authentication, one page of users, one events request")
	var rep struct {
		Totals      map[string]map[string]int `json:"totals"`
		Credentials []map[string]any          `json:"credentials"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.Equal(t, map[string]int{"OK": 1, "INVALID": 1}, rep.Totals["JohnDeere"])
	assert.Equal(t, 1, rep.Totals["AgLeader"]["MISSING"])
	require.Len(t, rep.Credentials, 2)
	invalid := rep.Credentials[0]
	assert.Equal(t, "g2", invalid["externalId"])
	assert.Equal(t, g2.ID, invalid["leafUserId"])
	assert.Equal(t, "JohnDeere", invalid["provider"])
	assert.Equal(t, "INVALID", invalid["status"])
	assert.Equal(t, false, invalid["reauthorizeHelps"], "Leaf holds the manifest's token: re-posting cannot help")
	assert.Contains(t, invalid["lastError"], "HTTP 401: token refresh failed")
	assert.NotEmpty(t, invalid["lastErrorAt"])
	assert.Equal(t, "MISSING", rep.Credentials[1]["status"])
	assert.Equal(t, "g3", rep.Credentials[1]["externalId"])

	code, out, _ = runCLI(t, env, "status", "--rate", "0", "--format", "csv")
	assert.Equal(t, exitAttention, code)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2, out)
	assert.Equal(t, []string{"externalId", "leafUserId", "provider", "status", "lastErrorAt", "lastError", "reauthorizeHelps"}, rows[0])

	code, out, _ = runCLI(t, env, "status", "--rate", "0")
	assert.Equal(t, exitAttention, code)
	assert.Contains(t, out, "g2/JohnDeere  INVALID")
	assert.NotContains(t, out, "reauthorizeHelps")
}

// The metrics files of apply and status parse as Prometheus text exposition and hold what a
// nightly alert needs.
func TestMetricsFilesParse(t *testing.T) {
	ts, manifest := attentionScenario(t, "")
	env := sandboxEnv(ts, nil)
	dir := t.TempDir()
	applyProm := filepath.Join(dir, "apply.prom")
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--metrics-file", applyProm)
	require.Equal(t, exitAttention, code, stderr)
	fams := parseProm(t, applyProm)
	for name := range fams {
		assert.True(t, strings.HasPrefix(name, "leaf_import_"), name)
	}
	assert.Equal(t, 1.0, value(t, fams, "leaf_import_last_run_outcome", "outcome", "attention"))
	assert.Equal(t, 0.0, value(t, fams, "leaf_import_last_run_outcome", "outcome", "succeeded"))
	assert.Equal(t, 1.0, value(t, fams, "leaf_import_growers_needing_attention", "reason", "conflict"))
	assert.Equal(t, 1.0, value(t, fams, "leaf_import_changes", "kind", "user", "action", "create", "status", "succeeded"))
	assert.Positive(t, value(t, fams, "leaf_import_requests"))
	assert.Positive(t, value(t, fams, "leaf_import_last_run_timestamp_seconds"))

	statusProm := filepath.Join(dir, "status.prom")
	code, _, _ = runCLI(t, env, "status", manifest, "--rate", "0", "--metrics-file", statusProm)
	assert.Equal(t, exitAttention, code)
	fams = parseProm(t, statusProm)
	assert.Equal(t, 1.0, value(t, fams, "leaf_import_credentials", "provider", "JohnDeere", "status", "INVALID"))
	assert.Equal(t, 1.0, value(t, fams, "leaf_import_growers_needing_attention", "reason", "unhealthy-credential"))

	code, _, _ = runCLI(t, env, "status", "--metrics-file", filepath.Join(dir, "status.txt"))
	assert.Equal(t, exitError, code, "the textfile collector reads .prom files only")
}

func parseProm(t *testing.T, path string) map[string]*promFamily {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	require.NoError(t, err)
	return fams
}

type promFamily = dto.MetricFamily

// value returns the gauge of the metric name whose labels include the given name/value pairs.
func value(t *testing.T, fams map[string]*promFamily, name string, labels ...string) float64 {
	t.Helper()
	fam, ok := fams[name]
	require.True(t, ok, "metric %s is written", name)
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && have[labels[i]] == labels[i+1]
		}
		if match {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}
