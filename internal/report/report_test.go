package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rec(seq int, id string, st Status) Record {
	return Record{Seq: seq, RunID: "r1", ChangeID: id, Kind: "user", Action: "create", ExternalID: strings.TrimPrefix(id, "user:"),
		Status: st, Attempts: 1, StartedAt: time.Date(2026, 1, 1, 0, 0, seq, 0, time.UTC), LeafUserID: "u-" + id}
}

func TestReportRoundTripsAsJSONAndCSV(t *testing.T) {
	dir := t.TempDir()
	r := &Report{FormatVersion: FormatVersion, Run: Run{ID: "r1", LeafURL: "https://x"},
		Records: []Record{rec(1, "user:a", StatusSucceeded), {Seq: 2, ChangeID: "credential:a/JohnDeere", Kind: "credential", Action: "replace",
			Status: StatusFailed, ErrorCode: "http-400", Error: `bad "value", with comma`, ResolvedByLookup: true, HTTPStatus: 400}}}
	for _, name := range []string{"r.json", "r.csv"} {
		path := filepath.Join(dir, name)
		require.NoError(t, r.Save(path))
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		back, err := Load(path)
		require.NoError(t, err, name)
		require.Len(t, back.Records, 2)
		assert.Equal(t, r.Records[1].Error, back.Records[1].Error)
		assert.True(t, back.Records[1].ResolvedByLookup)
		assert.True(t, r.Records[0].StartedAt.Equal(back.Records[0].StartedAt))
	}
	_, err := Decode([]byte(`{"formatVersion": 9}`), false)
	assert.Error(t, err)
}

func TestMergeKeepsEarlierRunsUnlessRedone(t *testing.T) {
	prior := []Record{rec(1, "user:a", StatusSucceeded), rec(2, "user:b", StatusSucceeded)}
	cur := []Record{rec(2, "user:c", StatusSucceeded), rec(1, "user:b", StatusSucceeded)}
	out := Merge(prior, cur)
	var ids []string
	for i, r := range out {
		ids = append(ids, r.ChangeID)
		assert.Equal(t, i+1, r.Seq)
	}
	assert.Equal(t, []string{"user:a", "user:b", "user:c"}, ids)
}

func journalText(lines ...Line) string {
	var b bytes.Buffer
	for _, l := range lines {
		enc, _ := EncodeLine(l, time.Now())
		b.Write(enc)
	}
	return b.String()
}

func TestReadJournalToleratesATornLastLine(t *testing.T) {
	good := journalText(
		&Header{RunID: "r1", LeafURL: "https://x", Account: "me", ManifestDigest: "sha256:1", Report: "run.json"},
		&Intent{StepRef: StepRef{ChangeID: "user:a", Step: StepPost, Kind: "user", ExternalID: "a"}},
		&Outcome{StepRef: StepRef{ChangeID: "user:a", Step: StepPost, Kind: "user", ExternalID: "a"}, Status: OutcomeSucceeded, LeafID: "u1"},
		&Intent{StepRef: StepRef{ChangeID: "user:b", Step: StepPost, Kind: "user", ExternalID: "b"}},
	)
	lines, err := ReadJournal(strings.NewReader(good + `{"type":"outcome","changeId":"user:b","st`))
	require.NoError(t, err, "a torn last line is dropped")
	require.Len(t, lines, 4)
	p := PriorFromJournal(lines)
	assert.Equal(t, map[string]string{"a": "u1"}, p.Created)
	require.Len(t, p.Unresolved, 1)
	assert.Equal(t, "user:b", p.Unresolved[0].ChangeID)
	assert.Equal(t, "run.json", p.ReportPath)
	assert.Equal(t, []string{"r1"}, p.RunIDs)

	corrupt := strings.Replace(good, `"type":"intent","at"`, `"type":"intent",GARBAGE"at"`, 1)
	_, err = ReadJournal(strings.NewReader(corrupt))
	var ce *ErrCorrupt
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 2, ce.Line)

	_, err = ReadJournal(strings.NewReader(journalText(&Intent{StepRef: StepRef{ChangeID: "x"}})))
	assert.ErrorAs(t, err, &ce, "a journal starts with a header")
	_, err = ReadJournal(strings.NewReader(""))
	assert.ErrorAs(t, err, &ce)
}

func TestPriorFromJournalAndReport(t *testing.T) {
	r1 := rec(1, "user:a", StatusSucceeded)
	r2 := rec(2, "user:b", StatusFailed)
	r2b := rec(3, "user:b", StatusSucceeded)
	text := journalText(
		&Header{RunID: "r1"},
		&RecordLine{Record: &r1},
		&RecordLine{Record: &r2},
		&Header{RunID: "r2"},
		&Intent{StepRef: StepRef{ChangeID: "credential:a/JohnDeere", Step: StepDelete, Phase: 1}},
		&Outcome{StepRef: StepRef{ChangeID: "credential:a/JohnDeere", Step: StepDelete, Phase: 1}, Status: OutcomeSucceeded},
		&Intent{StepRef: StepRef{ChangeID: "credential:a/JohnDeere", Step: StepPost, Phase: 2}},
		&RecordLine{Record: &r2b},
	)
	dir := t.TempDir()
	path := filepath.Join(dir, "run.journal.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	p, err := LoadPrior(path)
	require.NoError(t, err)
	assert.True(t, p.FromJournal)
	assert.Equal(t, []string{"r1", "r2"}, p.RunIDs)
	assert.Len(t, p.Done(), 2, "the later record of user:b wins")
	require.Len(t, p.Unresolved, 1, "a replace cut between its DELETE and its POST")
	assert.Equal(t, 2, p.Unresolved[0].Phase)
	assert.Equal(t, StatusPending, p.Records["credential:a/JohnDeere"].Status, "a change in doubt stands as pending")
	assert.Equal(t, map[string]string{"a": "u-user:a", "b": "u-user:b"}, p.Created)

	rep := &Report{FormatVersion: FormatVersion, Run: Run{ID: "r3", Previous: []string{"r1", "r2"}}, Records: []Record{r1, r2}}
	rp := filepath.Join(dir, "run.json")
	require.NoError(t, rep.Save(rp))
	p, err = LoadPrior(rp)
	require.NoError(t, err)
	assert.False(t, p.FromJournal)
	assert.Equal(t, []string{"r1", "r2", "r3"}, p.RunIDs)
	assert.Len(t, p.Done(), 1)
}

func TestSummary(t *testing.T) {
	s := Summarize([]Record{rec(1, "user:a", StatusSucceeded), rec(2, "user:b", StatusFailed), {Kind: "credential", Action: "replace", Status: StatusPending}},
		40, map[string]int64{"503": 3, "429": 1}, 2, 4*time.Second)
	assert.Equal(t, 1, s.Succeeded)
	assert.Equal(t, 1, s.Failed)
	assert.Equal(t, 1, s.Pending)
	assert.Equal(t, 1, s.ByKind["user"]["create"].Failed)
	assert.Equal(t, 10.0, s.Rate)
	text := s.Text()
	assert.Contains(t, text, "Applied: 1 succeeded, 1 failed, 0 skipped, 1 pending.")
	assert.Contains(t, text, "retries: 429 1, 503 3")
	assert.Contains(t, text, "Requests: 40 in 4s (10.0/s)")
}

// A resume of a large migration reads back every record: ordering them must not be quadratic.
func BenchmarkPriorDone(b *testing.B) {
	recs := make([]Record, 100_000)
	for i := range recs {
		recs[i] = rec(len(recs)-i, fmt.Sprintf("user:g%06d", i), StatusSucceeded)
	}
	p := PriorFromReport(&Report{Records: recs})
	b.ResetTimer()
	for range b.N {
		if len(p.Done()) != len(recs) {
			b.Fatal("records lost")
		}
	}
}

// A report in progress is appended to, never rewritten; read back it holds every record written
// so far, even when a kill cut its last line; closing it leaves the final report.
func TestWriterAppendsAndReadsBackInProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	earlier := rec(1, "user:old", StatusSucceeded)
	earlier.RunID = "r0"
	w := NewWriter(path, Run{ID: "r1", LeafURL: "https://x"}, []Record{earlier})
	for i := range 3 {
		w.Add(rec(i+1, fmt.Sprintf("user:g%d", i), StatusSucceeded))
	}
	require.NoError(t, w.Flush())
	size1 := fileSize(t, path)
	w.Add(rec(4, "user:g3", StatusFailed))
	require.NoError(t, w.Flush())
	require.NoError(t, w.Flush(), "nothing new: nothing written")
	size2 := fileSize(t, path)
	assert.Greater(t, size2, size1)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(data[size1:], []byte(`{"seq":4`)), "the second flush appended only the new record")

	back, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, "r1", back.Run.ID)
	assert.True(t, back.Run.EndedAt.IsZero(), "a report in progress has no end")
	require.Len(t, back.Records, 5, "the earlier run's record and this run's four")

	require.NoError(t, os.Truncate(path, size2-10))
	back, err = Load(path)
	require.NoError(t, err, "a report cut in the middle of a line is still read")
	assert.Len(t, back.Records, 4)
	p, err := LoadPrior(path)
	require.NoError(t, err)
	assert.Equal(t, StatusSucceeded, p.Records["user:g2"].Status)

	w = NewWriter(path, Run{ID: "r1"}, []Record{earlier})
	w.Add(rec(1, "user:g0", StatusSucceeded))
	require.NoError(t, w.Flush())
	copyPath := filepath.Join(filepath.Dir(path), "copy.csv")
	summary, n, err := w.Close(Run{ID: "r1", EndedAt: time.Now()}, RunStats{Requests: 7}, copyPath)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the earlier run's record and this run's one")
	assert.Equal(t, 2, summary.Succeeded)
	assert.Equal(t, int64(7), summary.Requests)
	csvBack, err := Load(copyPath)
	require.NoError(t, err)
	require.Len(t, csvBack.Records, 2)
	assert.Equal(t, "user:old", csvBack.Records[0].ChangeID)
	assert.Equal(t, 2, csvBack.Records[1].Seq, "renumbered in the report's order")
	back, err = Load(path)
	require.NoError(t, err)
	assert.False(t, back.Run.EndedAt.IsZero(), "the final report")
	assert.Equal(t, 2, back.Summary.Succeeded)
	var decoded map[string]any
	require.NoError(t, json.Unmarshal(mustReadFile(t, path), &decoded), "the final file is plain JSON")
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	return info.Size()
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
