package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/leaf-import/leaf-import/internal/change"
)

// JournalFormatVersion is the version of the journal's lines.
const JournalFormatVersion = 1

// Journal line types.
const (
	// LineHeader opens a run: its id, the manifest digest, the Leaf URL and account.
	LineHeader = "header"
	// LineIntent is written (and fsynced) before a mutating request.
	LineIntent = "intent"
	// LineOutcome is written after it: what happened, or what a lookup found.
	LineOutcome = "outcome"
	// LineRecord is a change's final record.
	LineRecord = "record"
)

// Outcomes and steps are the shared vocabulary's (package change), named here for brevity.
const (
	OutcomeSucceeded = change.OutcomeSucceeded
	OutcomeFailed    = change.OutcomeFailed
	OutcomeFound     = change.OutcomeFound
	OutcomeAbsent    = change.OutcomeAbsent

	StepPost   = change.StepPost
	StepPatch  = change.StepPatch
	StepPut    = change.StepPut
	StepDelete = change.StepDelete
)

// JournalLine is one line of the journal (JSONL). Which fields are set depends on Type. It
// never holds a secret or a response body.
type JournalLine struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	// Header fields.
	FormatVersion  int    `json:"formatVersion,omitempty"`
	RunID          string `json:"runId,omitempty"`
	Tool           string `json:"tool,omitempty"`
	ManifestDigest string `json:"manifestDigest,omitempty"`
	LeafURL        string `json:"leafUrl,omitempty"`
	Account        string `json:"account,omitempty"`
	// Report is the report file the run writes.
	Report string `json:"report,omitempty"`
	// Intent and outcome fields: the change, its step and phase (1 or 2 for a replace).
	ChangeID   string        `json:"changeId,omitempty"`
	Step       change.Step   `json:"step,omitempty"`
	Phase      int           `json:"phase,omitempty"`
	Kind       change.Kind   `json:"kind,omitempty"`
	Action     change.Action `json:"action,omitempty"`
	ExternalID string        `json:"externalId,omitempty"`
	Provider   string        `json:"provider,omitempty"`
	AppName    string        `json:"appName,omitempty"`
	Env        string        `json:"environment,omitempty"`
	LeafUserID string        `json:"leafUserId,omitempty"`
	// Outcome fields.
	Status     change.Outcome `json:"status,omitempty"`
	LeafID     string         `json:"leafId,omitempty"`
	HTTPStatus int            `json:"httpStatus,omitempty"`
	Class      string         `json:"class,omitempty"`
	// SettledBy names the later run whose lookup found this outcome (the line's RunID is the
	// run that sent the request).
	SettledBy string `json:"settledBy,omitempty"`
	// Record is set on record lines.
	Record *Record `json:"record,omitempty"`
}

// Key identifies the step an intent or outcome is about.
func (l *JournalLine) Key() string { return fmt.Sprintf("%s#%s#%d", l.ChangeID, l.Step, l.Phase) }

// ErrCorrupt is returned for a journal damaged before its last line.
type ErrCorrupt struct {
	Line int
	Err  error
}

func (e *ErrCorrupt) Error() string {
	return fmt.Sprintf("the journal is corrupt at line %d (%v); it cannot be resumed", e.Line, e.Err)
}

// ReadJournal reads every line of a journal. A torn last line (a crash while writing it) is
// dropped; a bad line anywhere else is corruption. The first line must be a header.
func ReadJournal(r io.Reader) ([]JournalLine, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var lines []JournalLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Bytes()
		var l JournalLine
		if err := json.Unmarshal(raw, &l); err != nil || l.Type == "" {
			if isLastLine(data, n) {
				break // torn by a crash while it was being written
			}
			if err == nil {
				err = fmt.Errorf("no line type")
			}
			return nil, &ErrCorrupt{Line: n, Err: err}
		}
		if n == 1 && l.Type != LineHeader {
			return nil, &ErrCorrupt{Line: 1, Err: fmt.Errorf("the first line is not a header")}
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, &ErrCorrupt{Line: 1, Err: fmt.Errorf("the journal is empty")}
	}
	return lines, nil
}

// indexOfLine returns the byte offset where line n (1-based) starts.
func indexOfLine(data []byte, n int) int {
	off := 0
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data[off:], '\n')
		if j < 0 {
			return len(data)
		}
		off += j + 1
	}
	return off
}

// isLastLine reports whether line n is the last non-empty line of data.
func isLastLine(data []byte, n int) bool {
	rest := data[indexOfLine(data, n+1):]
	return len(bytes.TrimSpace(rest)) == 0
}

// Encode returns the line as JSON followed by a newline.
func (l *JournalLine) Encode() ([]byte, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
