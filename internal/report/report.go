package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gocarina/gocsv"

	"github.com/leaf-import/leaf-import/internal/csvcell"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
)

// FormatVersion is the version of the JSON report.
const FormatVersion = 1

// Run describes the run (or, after resumes, the runs) a report covers.
type Run struct {
	ID             string `json:"id"`
	Tool           string `json:"tool"`
	ManifestDigest string `json:"manifestDigest"`
	LeafURL        string `json:"leafUrl"`
	Account        string `json:"account"`
	// Journal is the journal file of the run: a resume prefers it to the report.
	Journal   string    `json:"journal,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
	// Previous lists the earlier runs whose records this report carries (after a resume).
	Previous []string `json:"previousRuns,omitempty"`
	// Interrupted is set when the run stopped on a signal.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Report is the JSON report: the run, the summary and one record per change.
type Report struct {
	FormatVersion int      `json:"formatVersion"`
	Run           Run      `json:"run"`
	Summary       Summary  `json:"summary"`
	Records       []Record `json:"records"`
}

// IsCSV reports whether path names a CSV report.
func IsCSV(path string) bool { return strings.EqualFold(filepath.Ext(path), ".csv") }

// Encode writes the report as JSON, or as CSV (a header row and the records) when csv is set.
func (r *Report) Encode(w io.Writer, csv bool) error {
	if csv {
		records := r.Records
		if records == nil {
			records = []Record{}
		}
		return gocsv.MarshalCSV(&records, csvcell.NewWriter(w, false))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// Save replaces path with the report atomically, mode 0600, in the format its extension names.
func (r *Report) Save(path string) error {
	var buf bytes.Buffer
	if err := r.Encode(&buf, IsCSV(path)); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes(), 0o600)
}

// Load reads a JSON or CSV report (by extension). A CSV report has records only.
func Load(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(data, IsCSV(path))
}

// Decode reads a report from its JSON or CSV encoding.
func Decode(data []byte, csv bool) (*Report, error) {
	r := &Report{}
	if csv {
		if err := gocsv.UnmarshalCSV(csvcell.NewReader(bytes.NewReader(data)), &r.Records); err != nil && !errors.Is(err, gocsv.ErrEmptyCSVFile) {
			return nil, fmt.Errorf("not a leaf-import CSV report: %w", err)
		}
		r.FormatVersion = FormatVersion
		return r, nil
	}
	if bytes.HasPrefix(data, progressPrefix) {
		return readProgress(data)
	}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("not a leaf-import report: %w", err)
	}
	if r.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("report format version %d is not supported (this leaf-import reads %d)", r.FormatVersion, FormatVersion)
	}
	return r, nil
}

// Merge returns earlier runs' records that the current run did not redo, then the current
// run's records, renumbered in that order.
func Merge(prior, current []Record) []Record {
	redone := make(map[string]bool, len(current))
	for _, r := range current {
		redone[r.ChangeID] = true
	}
	out := make([]Record, 0, len(prior)+len(current))
	for _, r := range prior {
		if !redone[r.ChangeID] {
			out = append(out, r)
		}
	}
	cur := append([]Record(nil), current...)
	sort.SliceStable(cur, func(i, j int) bool { return cur[i].Seq < cur[j].Seq })
	out = append(out, cur...)
	for i := range out {
		out[i].Seq = i + 1
	}
	return out
}

// progressPrefix starts a report in progress (see Writer).
var progressPrefix = []byte(`{"formatVersion":1,"inProgress":true,`)

// readProgress reads a report in progress: the run from its head line, then a record per line
// up to the first line that is not whole (a kill in the middle of a write). A change may have
// several records (an earlier run's, then this run's): the later one counts.
func readProgress(data []byte) (*Report, error) {
	lines := bytes.Split(data, []byte("\n"))
	head := bytes.TrimSuffix(lines[0], []byte(`,"records":[`))
	var h progressHead
	if err := json.Unmarshal(append(head, '}'), &h); err != nil {
		return nil, fmt.Errorf("not a leaf-import report in progress: %w", err)
	}
	r := &Report{FormatVersion: h.FormatVersion, Run: h.Run}
	for _, l := range lines[1:] {
		l = bytes.TrimSuffix(bytes.TrimSpace(l), []byte(","))
		var rec Record
		if len(l) == 0 || json.Unmarshal(l, &rec) != nil {
			break
		}
		r.Records = append(r.Records, rec)
	}
	return r, nil
}
