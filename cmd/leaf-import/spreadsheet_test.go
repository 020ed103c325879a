package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// hostileUsers are Leaf users whose fields a spreadsheet would run or rewrite.
func hostileUsers(ts *sandbox.TestServer) {
	agl := mustProvider("AgLeader")
	ts.AddUser(&sandbox.User{ExternalID: "=1+1", Name: "@SUM(1)", Phone: "+15551234567",
		Credentials: map[string]*sandbox.Credential{"AgLeader": seedCredential(agl, "a", "")}})
	ts.AddUser(&sandbox.User{ExternalID: "00123", Name: "-minus", Phone: "+15550000000"})
	ts.AddUser(&sandbox.User{ExternalID: "grower-1", Name: `=HYPERLINK("http://x","click me")`, Email: "a@b.co"})
}

// Every CSV leaf-import writes starts a formula-like cell with an apostrophe, and keeps text that
// looks like a number as text.
func TestCSVsAreSafeToOpenInASpreadsheet(t *testing.T) {
	ts := sandbox.NewServer(t)
	hostileUsers(ts)
	env := sandboxEnv(ts, nil)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, env, "export", "--out", dir, "--format", "csv", "--rate", "0")
	require.Equal(t, 0, code, stderr)
	growers := string(mustRead(t, filepath.Join(dir, "growers.csv")))
	for _, cell := range []string{"'=1+1", "'@SUM(1)", "'+15551234567", "'00123", "'-minus", `"'=HYPERLINK(""http://x"",""click me"")"`} {
		assert.Contains(t, growers, cell)
	}
	for _, line := range strings.Split(growers, "\n") {
		for _, cell := range strings.Split(line, ",") {
			assert.False(t, strings.HasPrefix(cell, "=") || strings.HasPrefix(cell, "@") || strings.HasPrefix(cell, "+"), "a live cell: %q", cell)
		}
	}
	// The export plans as no change: the reader takes the apostrophes off.
	code, out, stderr := runCLI(t, env, "plan", filepath.Join(dir, "manifest.yaml"), "--rate", "0", "--detailed-exitcode")
	require.Equal(t, 0, code, "%s\n%s", out, stderr)

	// The report CSV, read back by --resume, round-trips too.
	manifest := filepath.Join(dir, "manifest.yaml")
	report := filepath.Join(t.TempDir(), "run.csv")
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--report", report)
	require.Equal(t, 0, code, stderr)

	// status --format csv.
	bad := seedCredential(mustProvider("AgLeader"), "b", "")
	bad.Status = "INVALID"
	ts.AddUser(&sandbox.User{ExternalID: "=2+2", Credentials: map[string]*sandbox.Credential{"AgLeader": bad}})
	code, out, _ = runCLI(t, env, "status", "--rate", "0", "--format", "csv")
	assert.Equal(t, exitAttention, code)
	assert.Contains(t, out, "'=2+2,")
	assert.NotContains(t, out, "\n=2+2,")
	rep := string(mustRead(t, report))
	assert.NotContains(t, rep, "\n=", "no report row starts a live formula")
}

// A column a spreadsheet rewrote in scientific notation is a located problem, not ids to send.
func TestScientificNotationIsAProblem(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "g.csv")
	require.NoError(t, os.WriteFile(m, []byte("externalId,provider,phone\n1.23E+05,,x\ng2,,1.55E+10\n"), 0o600))
	code, out, _ := runCLI(t, nil, "validate", m)
	assert.Equal(t, exitError, code)
	assert.Contains(t, out, `g.csv:2: externalId: externalId "1.23E+05" looks like a number a spreadsheet rewrote in scientific notation`)
	assert.Contains(t, out, `g.csv:3: phone: phone "1.55E+10" looks like a number`)
}

// An export opened in a real spreadsheet (Gnumeric's ssconvert, standing in for Excel), saved
// as a workbook and saved back as CSV, plans as no change: no formula ran, no phone lost its +,
// no id its zeros.
func TestAnExportSurvivesASpreadsheetRoundTrip(t *testing.T) {
	ssconvert, err := exec.LookPath("ssconvert")
	if err != nil {
		t.Skip("ssconvert is not installed (scripts/test-tools.sh installs Debian's gnumeric): the spreadsheet round trip is not checked")
	}
	ts := sandbox.NewServer(t)
	hostileUsers(ts)
	env := sandboxEnv(ts, nil)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, env, "export", "--out", dir, "--format", "csv", "--rate", "0")
	require.Equal(t, 0, code, stderr)
	csvPath := filepath.Join(dir, "growers.csv")
	book := filepath.Join(t.TempDir(), "growers.xlsx")
	for _, args := range [][]string{{csvPath, book}, {book, csvPath}} {
		out, err := exec.Command(ssconvert, args...).CombinedOutput()
		require.NoError(t, err, "ssconvert %v: %s", args, out)
	}
	code, out, stderr := runCLI(t, env, "plan", filepath.Join(dir, "manifest.yaml"), "--rate", "0", "--detailed-exitcode")
	assert.Equal(t, 0, code, "the round trip changed the growers:\n%s\n%s\n%s", out, stderr, mustRead(t, csvPath))
}
