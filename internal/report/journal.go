package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/leaf-import/leaf-import/internal/change"
)

// JournalFormatVersion is the version of the journal's lines. Version 2 ends every line with a
// chained checksum (see Checksum); version 1 journals, without one, are still read.
const JournalFormatVersion = 2

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

// Line is one line of the journal (JSONL): a *Header, an *Intent, an *Outcome or a
// *RecordLine, one type per kind of line. No line holds a secret or a response body.
type Line interface {
	// Type is the line's "type" on disk.
	Type() string
}

// Header opens a run segment: a run, or a resume that continues it.
type Header struct {
	At            time.Time `json:"at"`
	FormatVersion int       `json:"formatVersion,omitempty"`
	RunID         string    `json:"runId,omitempty"`
	Tool          string    `json:"tool,omitempty"`
	// ManifestDigest, LeafURL and Account say what the run was made from and against: a resume
	// refuses another Leaf or account, and (without --replan) another manifest.
	ManifestDigest string `json:"manifestDigest,omitempty"`
	LeafURL        string `json:"leafUrl,omitempty"`
	Account        string `json:"account,omitempty"`
	// Report is the report file the run writes.
	Report string `json:"report,omitempty"`
}

// StepRef names one mutating request: the run that sent it, the change, its step and phase (1
// or 2 for the two requests of a credential replace), and the object it is about.
type StepRef struct {
	RunID      string        `json:"runId,omitempty"`
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
	// Label is the description an API key is created with: how a later run finds a key whose
	// answer (and value) was lost.
	Label string `json:"label,omitempty"`
	// ConfigDigest is the digest of the config a config step writes (leaf.Config.Digest, no
	// secret): a run after a crash records the configs the journal shows written, and reads
	// back only those in doubt.
	ConfigDigest string `json:"configDigest,omitempty"`
}

// Key identifies the request across its intent and outcome lines.
func (s *StepRef) Key() string { return fmt.Sprintf("%s#%s#%d", s.ChangeID, s.Step, s.Phase) }

// Intent is written (and fsynced) before a mutating request is sent. An intent without an
// outcome is a request whose fate is unknown.
type Intent struct {
	At time.Time `json:"at"`
	StepRef
}

// Outcome is written after the request's answer, or when a lookup found what became of it.
type Outcome struct {
	At time.Time `json:"at"`
	StepRef
	Status     change.Outcome `json:"status,omitempty"`
	LeafID     string         `json:"leafId,omitempty"`
	HTTPStatus int            `json:"httpStatus,omitempty"`
	Class      string         `json:"class,omitempty"`
	// SettledBy names the later run whose lookup found this outcome (StepRef.RunID is the run
	// that sent the request).
	SettledBy string `json:"settledBy,omitempty"`
}

// RecordLine carries a change's final record.
type RecordLine struct {
	At       time.Time `json:"at"`
	RunID    string    `json:"runId,omitempty"`
	ChangeID string    `json:"changeId,omitempty"`
	Record   *Record   `json:"record,omitempty"`
}

func (*Header) Type() string     { return LineHeader }
func (*Intent) Type() string     { return LineIntent }
func (*Outcome) Type() string    { return LineOutcome }
func (*RecordLine) Type() string { return LineRecord }

// EncodeLine returns the line as JSON, its "type" first, followed by a newline. A zero time is
// set to now.
func EncodeLine(l Line, now time.Time) ([]byte, error) {
	var v any
	switch l := l.(type) {
	case *Header:
		if l.At.IsZero() {
			l.At = now
		}
		v = struct {
			T string `json:"type"`
			*Header
		}{LineHeader, l}
	case *Intent:
		if l.At.IsZero() {
			l.At = now
		}
		v = struct {
			T string `json:"type"`
			*Intent
		}{LineIntent, l}
	case *Outcome:
		if l.At.IsZero() {
			l.At = now
		}
		v = struct {
			T string `json:"type"`
			*Outcome
		}{LineOutcome, l}
	case *RecordLine:
		if l.At.IsZero() {
			l.At = now
		}
		v = struct {
			T string `json:"type"`
			*RecordLine
		}{LineRecord, l}
	default:
		return nil, fmt.Errorf("journal: unknown line %T", l)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeLine reads one line into its type. The type is read from the line's start (where
// EncodeLine puts it) without a second parse; a line written otherwise is probed first.
func decodeLine(raw []byte) (Line, error) {
	typ := ""
	for _, t := range []string{LineIntent, LineOutcome, LineRecord, LineHeader} {
		if bytes.HasPrefix(raw, []byte(`{"type":"`+t+`"`)) {
			typ = t
			break
		}
	}
	if typ == "" {
		var probe struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, err
		}
		typ = probe.Type
	}
	var l Line
	switch typ {
	case LineHeader:
		l = &Header{}
	case LineIntent:
		l = &Intent{}
	case LineOutcome:
		l = &Outcome{}
	case LineRecord:
		l = &RecordLine{}
	case "":
		return nil, fmt.Errorf("no line type")
	default:
		return nil, fmt.Errorf("unknown line type %q", typ)
	}
	if err := json.Unmarshal(raw, l); err != nil {
		return nil, err
	}
	return l, nil
}

// ErrCorrupt is returned for a damaged journal: a line that does not decode or whose checksum
// breaks the chain, anywhere but a torn last line, or a journal shorter than its seal.
type ErrCorrupt struct {
	Line int
	Err  error
}

func (e *ErrCorrupt) Error() string {
	return fmt.Sprintf("the journal is damaged at line %d (%v)", e.Line, e.Err)
}

// ReadJournal reads every line of a journal and checks the chain of checksums of a version 2
// journal. A torn last line (a crash while it was written) is dropped; any other damage is an
// *ErrCorrupt, returned with the lines read before it. The first line must be a header.
func ReadJournal(r io.Reader) ([]Line, error) {
	lines, _, err := readJournal(r)
	return lines, err
}

// readJournal is ReadJournal, also returning how many bytes of complete, checked lines it read.
func readJournal(r io.Reader) ([]Line, int64, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, err
	}
	var lines []Line
	var prev uint32
	checked := false // a version 2 header was read: every line carries a checksum
	var good int64
	n := 0
	for off := 0; off < len(data); {
		n++
		end := bytes.IndexByte(data[off:], '\n')
		torn := end < 0
		if torn {
			end = len(data) - off
		}
		raw := data[off : off+end]
		off += end + 1
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		l, err := checkLine(raw, &prev, &checked)
		if err != nil {
			if torn {
				break // torn by a crash while it was being written
			}
			return lines, good, &ErrCorrupt{Line: n, Err: err}
		}
		if _, ok := l.(*Header); n == 1 && !ok {
			return nil, 0, &ErrCorrupt{Line: 1, Err: fmt.Errorf("the first line is not a header")}
		}
		lines = append(lines, l)
		if !torn {
			good = int64(off)
		}
	}
	if len(lines) == 0 {
		return nil, 0, &ErrCorrupt{Line: 1, Err: fmt.Errorf("the journal is empty")}
	}
	return lines, good, nil
}

// checkLine decodes one line and checks its checksum against the chain.
func checkLine(raw []byte, prev *uint32, checked *bool) (Line, error) {
	body, sum, has := lineChecksum(raw)
	switch {
	case has && crc32.Update(*prev, castagnoli, body) != sum:
		return nil, fmt.Errorf("its checksum does not match: the line was cut, edited, or a line before it removed")
	case !has && *checked:
		return nil, fmt.Errorf("it has no checksum")
	}
	l, err := decodeLine(raw)
	if err != nil {
		return nil, err
	}
	if h, ok := l.(*Header); ok && h.FormatVersion >= 2 {
		if !has {
			return nil, fmt.Errorf("its header has no checksum")
		}
		*checked = true
	}
	*prev = sum // 0 after a line without a checksum
	return l, nil
}
