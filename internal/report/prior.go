package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/leaf-import/leaf-import/internal/change"
)

// Prior is what earlier runs of a migration left: read from a journal or a report, it tells a
// resumed run what is done and what is in doubt.
type Prior struct {
	// LeafURL, Account and ManifestDigest are the first run's (empty from a CSV report).
	LeafURL        string
	Account        string
	ManifestDigest string
	// ReportPath is the report file the last journaled run wrote ("" from a report).
	ReportPath string
	// RunIDs are the earlier runs, oldest first.
	RunIDs []string
	// Records holds the latest record of each change.
	Records map[string]Record
	// Created maps an externalId to the Leaf user an earlier run created (or found after an
	// ambiguous create): it exists even while a lagging list does not show it yet.
	Created map[string]string
	// Deleted holds the Leaf ids of the users the run deleted (journals only): a user an
	// earlier run created and a later one deleted no longer counts as created.
	Deleted map[string]bool
	// Unresolved are intents without an outcome: requests whose fate is unknown (a crash or a
	// kill between the request and its answer).
	Unresolved []Intent
	// FromJournal is set when Prior was read from a journal.
	FromJournal bool
	// EndedAt is when the run of a report read back ended (zero for a report cut off by a
	// kill, and for a journal), or a damaged journal was last written.
	EndedAt time.Time
	// Damaged is set when the journal it was read from is damaged: it holds what the lines
	// before the damage say, and the run may have sent requests it does not show.
	Damaged bool
	// Configs is what the journal says of the configs its runs wrote, by Leaf user id: the
	// digest written, or "" for a write in doubt or failed (the config must be read again).
	Configs map[string]string
}

// Done returns the records of changes that succeeded, in the order they were recorded.
func (p *Prior) Done() []Record {
	var out []Record
	for _, r := range p.Records {
		if r.Status == StatusSucceeded {
			out = append(out, r)
		}
	}
	sortRecords(out)
	return out
}

// All returns every latest record.
func (p *Prior) All() []Record {
	out := make([]Record, 0, len(p.Records))
	for _, r := range p.Records {
		out = append(out, r)
	}
	sortRecords(out)
	return out
}

// sortRecords orders records by start time, then sequence (earlier runs first).
func sortRecords(rs []Record) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if !a.StartedAt.Equal(b.StartedAt) {
			return a.StartedAt.Before(b.StartedAt)
		}
		return a.Seq < b.Seq
	})
}

// PriorFromJournal replays journal lines. It is longer than 80 lines because it is one pass
// over the lines, a case per line type, then the changes left open: split, the state each case
// updates would travel between functions.
func PriorFromJournal(lines []Line) *Prior {
	p := &Prior{Records: map[string]Record{}, Created: map[string]string{}, Deleted: map[string]bool{}, FromJournal: true,
		Configs: map[string]string{}}
	open := map[string]*Intent{}
	var order []string
	// last holds each change's last outcome (nil after a later intent): a change whose outcome
	// reached the journal and whose record did not (records are not waited for) gets one from it.
	last := map[string]*Outcome{}
	var changes []string
	touch := func(id string, o *Outcome) {
		if _, seen := last[id]; !seen {
			changes = append(changes, id)
		}
		last[id] = o
	}
	for _, line := range lines {
		switch l := line.(type) {
		case *Header:
			if p.LeafURL == "" {
				p.LeafURL, p.Account, p.ManifestDigest = l.LeafURL, l.Account, l.ManifestDigest
			}
			p.RunIDs = append(p.RunIDs, l.RunID)
			if l.Report != "" {
				p.ReportPath = l.Report
			}
		case *Intent:
			if l.ChangeID != "" {
				touch(l.ChangeID, nil)
			}
			if _, seen := open[l.Key()]; !seen {
				order = append(order, l.Key())
			}
			open[l.Key()] = l
			if l.Kind == change.KindConfig && l.LeafUserID != "" {
				p.Configs[l.LeafUserID] = "" // in doubt until its outcome
			}
		case *Outcome:
			if l.ChangeID != "" {
				touch(l.ChangeID, l)
			}
			delete(open, l.Key())
			if l.Kind == change.KindConfig && l.LeafUserID != "" {
				p.Configs[l.LeafUserID] = ""
				if l.Status == OutcomeSucceeded || l.Status == OutcomeFound {
					p.Configs[l.LeafUserID] = l.ConfigDigest
				}
			}
			if l.Kind == change.KindUser && l.Step == StepPost && l.LeafID != "" &&
				(l.Status == OutcomeSucceeded || l.Status == OutcomeFound) {
				p.Created[l.ExternalID] = l.LeafID
			}
			if l.Kind == change.KindUser && l.Step == StepDelete && l.Status == OutcomeSucceeded && l.LeafUserID != "" {
				p.Deleted[l.LeafUserID] = true
				if p.Created[l.ExternalID] == l.LeafUserID {
					delete(p.Created, l.ExternalID)
				}
			}
		case *RecordLine:
			if l.Record != nil {
				p.addRecord(*l.Record)
			}
		}
	}
	for _, k := range order {
		if l, ok := open[k]; ok {
			p.Unresolved = append(p.Unresolved, *l)
			if _, has := p.Records[l.ChangeID]; !has {
				// The change is in doubt: it stands as pending until a later run re-plans it (and
				// records it) or finds it done.
				p.addRecord(Record{RunID: l.RunID, ChangeID: l.ChangeID, Kind: l.Kind, Action: l.Action,
					ExternalID: l.ExternalID, Provider: l.Provider, AppName: l.AppName, LeafUserID: l.LeafUserID,
					StartedAt: l.At, Status: StatusPending, ErrorCode: CodeInterrupted})
			}
		}
	}
	for _, id := range changes {
		l := last[id]
		if _, has := p.Records[id]; has || l == nil || l.Step == StepDelete && l.Phase == 1 {
			continue
		}
		r := Record{RunID: l.RunID, ChangeID: id, Kind: l.Kind, Action: l.Action, ExternalID: l.ExternalID,
			Provider: l.Provider, AppName: l.AppName, LeafUserID: l.LeafUserID, HTTPStatus: l.HTTPStatus,
			StartedAt: l.At, Status: StatusFailed, ErrorCode: l.Class}
		switch l.Status {
		case OutcomeSucceeded, OutcomeFound:
			r.Status, r.ErrorCode, r.ResolvedByLookup = StatusSucceeded, "", l.Status == OutcomeFound
			if l.Kind == change.KindUser && l.Step == StepPost {
				r.LeafUserID = l.LeafID
			}
		}
		p.addRecord(r)
	}
	return p
}

// PriorFromReport reads what a report says was done.
func PriorFromReport(r *Report) *Prior {
	p := &Prior{Records: map[string]Record{}, Created: map[string]string{},
		LeafURL: r.Run.LeafURL, Account: r.Run.Account, ManifestDigest: r.Run.ManifestDigest, EndedAt: r.Run.EndedAt}
	p.RunIDs = append(append(p.RunIDs, r.Run.Previous...), r.Run.ID)
	for _, rec := range r.Records {
		p.addRecord(rec)
	}
	return p
}

func (p *Prior) addRecord(r Record) {
	p.Records[r.ChangeID] = r
	if r.Kind == change.KindUser && r.Action == change.ActionCreate && r.Status == StatusSucceeded && r.LeafUserID != "" {
		p.Created[r.ExternalID] = r.LeafUserID
	}
}

// LoadPrior reads a journal (a .jsonl file, or any file whose first line is a journal header)
// or a JSON or CSV report.
func LoadPrior(path string) (*Prior, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	journal := hasJournalHeader(f)
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	if journal {
		return loadJournal(f, path)
	}
	rep, err := Load(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return PriorFromReport(rep), nil
}

// loadJournal reads a journal and checks it against its seal. A damaged journal returns an
// error wrapping *ErrCorrupt together with what its lines before the damage say (Damaged set,
// EndedAt the journal's last write): not enough to resume from, enough for the next run to
// settle what they show and to wait out Leaf's list lag for the rest.
func loadJournal(f *os.File, path string) (*Prior, error) {
	lines, good, err := readJournal(f)
	var corrupt *ErrCorrupt
	if err != nil && !errors.As(err, &corrupt) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err == nil {
		seal, ok, serr := ReadSeal(path)
		switch {
		case serr != nil:
			err = &ErrCorrupt{Line: len(lines), Err: serr}
		case ok && good < seal.Size:
			err = &ErrCorrupt{Line: len(lines) + 1, Err: fmt.Errorf("it has %d bytes of complete lines but its run wrote %d: it was cut", good, seal.Size)}
		}
	}
	p := PriorFromJournal(lines)
	if err == nil {
		return p, nil
	}
	p.Damaged = true
	if info, serr := f.Stat(); serr == nil {
		p.EndedAt = info.ModTime().UTC()
	}
	return p, fmt.Errorf("%s: %w", path, err)
}

// IsJournal reports whether path is a journal: its first line opens with a journal header.
// It is the one rule by which leaf-import tells a journal from a report.
func IsJournal(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return hasJournalHeader(f)
}

func hasJournalHeader(r io.Reader) bool {
	head := make([]byte, 64)
	n, _ := io.ReadFull(r, head)
	return strings.HasPrefix(string(head[:n]), `{"type":"`+LineHeader+`"`)
}
