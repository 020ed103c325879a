package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chained writes a version 2 journal of n intents as the journal writer does, and returns its
// bytes and the offsets where each line starts.
func chained(t *testing.T, n int) ([]byte, []int) {
	t.Helper()
	var buf bytes.Buffer
	var prev uint32
	var starts []int
	at := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	lines := []Line{&Header{RunID: "r1", FormatVersion: JournalFormatVersion}}
	for i := range n {
		lines = append(lines, &Intent{StepRef: StepRef{RunID: "r1", ChangeID: "user:g" + string(rune('a'+i)), Step: StepPost}})
	}
	for _, l := range lines {
		b, err := EncodeLine(l, at)
		require.NoError(t, err)
		b, prev = Checksum(b, prev)
		starts = append(starts, buf.Len())
		buf.Write(b)
	}
	return buf.Bytes(), starts
}

func TestJournalChecksumsTellDamageFromATornTail(t *testing.T) {
	data, starts := chained(t, 6)
	lines, err := ReadJournal(bytes.NewReader(data))
	require.NoError(t, err)
	require.Len(t, lines, 7)

	cases := []struct {
		name    string
		damage  func([]byte) []byte
		corrupt bool
		lines   int // lines read (before the damage, or all kept)
	}{
		{"a torn last line", func(d []byte) []byte { return d[:len(d)-10] }, false, 6},
		{"a line cut in the middle", func(d []byte) []byte {
			return append(append([]byte{}, d[:starts[3]+20]...), d[starts[3]+40:]...)
		}, true, 3},
		{"an edited status", func(d []byte) []byte {
			return bytes.Replace(d, []byte(`"changeId":"user:gc"`), []byte(`"changeId":"user:gz"`), 1)
		}, true, 3},
		{"a deleted line", func(d []byte) []byte {
			return append(append([]byte{}, d[:starts[2]]...), d[starts[3]:]...)
		}, true, 2},
		{"two lines swapped", func(d []byte) []byte {
			out := append([]byte{}, d[:starts[2]]...)
			out = append(out, d[starts[3]:starts[4]]...)
			out = append(out, d[starts[2]:starts[3]]...)
			return append(out, d[starts[4]:]...)
		}, true, 2},
		{"a checksum removed", func(d []byte) []byte {
			line := d[starts[5]:starts[6]]
			fixed := append(append([]byte{}, line[:len(line)-crcSuffixLen-1]...), '}', '\n')
			return append(append(append([]byte{}, d[:starts[5]]...), fixed...), d[starts[6]:]...)
		}, true, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines, err := ReadJournal(bytes.NewReader(c.damage(data)))
			var corrupt *ErrCorrupt
			assert.Equal(t, c.corrupt, errors.As(err, &corrupt), "%v", err)
			assert.Len(t, lines, c.lines)
		})
	}
}

// A journal cut at a line boundary has an intact chain: its seal tells. So does one cut
// mid-line, which the chain alone would take for a torn last line.
func TestTheSealTellsACutJournal(t *testing.T) {
	data, starts := chained(t, 6)
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	require.NoError(t, os.WriteFile(SealPath(path), Seal{Size: int64(len(data)), Last: LastChecksum(data)}.Encode(), 0o600))
	p, err := LoadPrior(path)
	require.NoError(t, err)
	assert.Len(t, p.Unresolved, 6)

	for name, size := range map[string]int{"at a line boundary": starts[4], "to half its bytes": len(data) / 2} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, data[:size], 0o600))
			p, err := LoadPrior(path)
			var corrupt *ErrCorrupt
			require.ErrorAs(t, err, &corrupt)
			assert.Contains(t, err.Error(), "it was cut")
			assert.Contains(t, err.Error(), path, "the file is named")
			require.NotNil(t, p, "what the lines before the cut say")
			assert.True(t, p.Damaged)
			assert.False(t, p.EndedAt.IsZero(), "the journal's last write")
		})
	}

	require.NoError(t, os.WriteFile(path, data, 0o600))
	require.NoError(t, os.Remove(SealPath(path)))
	_, err = LoadPrior(path)
	assert.NoError(t, err, "a journal without a seal (an older one) is read as it is")
}

// Version 1 journals, without checksums, are still read; a version 2 header requires them.
func TestVersionOneJournalsAreStillRead(t *testing.T) {
	at := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	for _, l := range []Line{&Header{RunID: "r1", FormatVersion: 1}, &Intent{StepRef: StepRef{RunID: "r1", ChangeID: "user:a", Step: StepPost}}} {
		b, err := EncodeLine(l, at)
		require.NoError(t, err)
		buf.Write(b)
	}
	lines, err := ReadJournal(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Len(t, lines, 2)

	v2 := bytes.Replace(buf.Bytes(), []byte(`"formatVersion":1`), []byte(`"formatVersion":2`), 1)
	_, err = ReadJournal(bytes.NewReader(v2))
	var corrupt *ErrCorrupt
	assert.ErrorAs(t, err, &corrupt, "a version 2 header without a checksum")
}
