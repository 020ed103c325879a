package main

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/htmlview"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/report"
)

// chromium runs Debian's Chromium headless on a page with extra (--dump-dom, --screenshot=…)
// and returns stdout and the page's console messages; it skips when Chromium is not installed.
func chromium(t *testing.T, page string, extra ...string) (string, []string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/test-tools.sh installs Debian's chromium): the pages are not checked in a browser")
	}
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--window-size=1200,1600"}, extra...)
	cmd := exec.Command(bin, append(args, "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	var console []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") {
			console = append(console, l)
		}
	}
	return stdout.String(), console
}

// notBlank says whether a screenshot shows something: more than one colour in it.
func notBlank(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			if img.At(x, y) != first {
				return true
			}
		}
	}
	return false
}

// A run's page opens in a real browser without a console error, draws its table with the
// page's script, and is not blank; a saved plan's page too.
func TestRunAndPlanPagesInAHeadlessBrowser(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("503=0.2,seed=3"))
	dir := t.TempDir()
	var growers []growerSpec
	for i := range 30 {
		growers = append(growers, growerSpec{ext: fmt.Sprintf("g-%02d", i), name: `<script>alert("x")</script>`, providers: []string{"AgLeader"}})
	}
	manifest := writeManifest(t, dir, growers, nil, "")
	env := sandboxEnv(ts, nil)
	saved := filepath.Join(dir, "plan.json")
	code, _, stderr := runCLI(t, env, "plan", manifest, "--rate", "0", "--out", saved)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--lookup-window", "10ms", "-q")
	require.Equal(t, 0, code, stderr)
	run := lastRun(t, env)

	code, page, _ := runCLI(t, env, "runs", "show", run.RunID, "--format", "html")
	require.Equal(t, 0, code)
	assert.NotContains(t, page, `<script>alert("x")`, "manifest text is escaped")
	assert.NotContains(t, page, "src=\"http", "self-contained: nothing loaded from elsewhere")
	assert.NotContains(t, page, "href=\"http")
	code, planPage, _ := runCLI(t, nil, "show", saved, "--format", "html")
	require.Equal(t, 0, code)

	for name, html := range map[string]string{"run": page, "plan": planPage} {
		path := filepath.Join(dir, name+".html")
		require.NoError(t, os.WriteFile(path, []byte(html), 0o600))
		dom, console := chromium(t, path, "--dump-dom")
		assert.Empty(t, console, "%s: console messages", name)
		assert.Regexp(t, `\d+ of \d+`, dom, "%s: the script drew the table", name)
		assert.Greater(t, strings.Count(dom, "<tr>"), 30, name)
		shot := filepath.Join(dir, name+".png")
		chromium(t, path, "--screenshot="+shot)
		assert.True(t, notBlank(t, shot), "%s: the screenshot is not blank", name)
	}
	code, text, _ := runCLI(t, env, "runs", "show", run.RunID)
	require.Equal(t, 0, code)
	assert.Contains(t, text, "Run "+run.RunID+": succeeded")
}

// The page of a 100,000-change run loads in the browser and filters: only the first rows that
// match are drawn.
func TestARunPageOf100000ChangesStaysUsable(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	start := time.Date(2026, 12, 1, 2, 30, 0, 0, time.UTC)
	rep := &report.Report{FormatVersion: report.FormatVersion, Run: report.Run{ID: "r1", Account: "sandbox", StartedAt: start}}
	for i := range 100_000 {
		st := report.StatusSucceeded
		if i%97 == 0 {
			st = report.StatusFailed
		}
		rep.Records = append(rep.Records, report.Record{Seq: i + 1, ChangeID: fmt.Sprintf("user:g-%06d", i), Kind: change.KindUser,
			Action: change.ActionCreate, ExternalID: fmt.Sprintf("g-%06d", i), Status: st, Attempts: 1 + i%3, HTTPStatus: 201,
			StartedAt: start.Add(time.Duration(i) * 36 * time.Millisecond), DurationMs: 40, ErrorCode: map[bool]string{true: "http-500"}[st == report.StatusFailed]})
	}
	var b bytes.Buffer
	require.NoError(t, htmlview.RunPage(rep, "failed").Render(&b))
	path := filepath.Join(t.TempDir(), "big.html")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))
	began := time.Now()
	dom, console := chromium(t, path, "--dump-dom")
	t.Logf("a page of %d bytes loaded and drawn in %s", b.Len(), time.Since(began).Round(time.Millisecond))
	assert.Empty(t, console)
	assert.Contains(t, dom, "100000 of 100000 (the first 500 shown")
	assert.LessOrEqual(t, strings.Count(dom, "<tr>"), 520, "only the first rows are in the document")
}
