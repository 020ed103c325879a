package exec

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// Journal is the append-only write-ahead journal of a migration (JSONL, mode 0600). Every line
// is on disk (fsynced) before the call that wrote it returns: an intent before its request is
// sent, an outcome after its answer. Concurrent writers share fsyncs (group commit), so the
// journal costs one fsync per burst of lines, not one per line.
type Journal struct {
	f     *os.File
	runID string
	now   func() time.Time

	mu       sync.Mutex
	cond     *sync.Cond
	pending  []byte
	next     uint64 // batch that pending belongs to
	flushed  uint64 // last batch on disk
	flushing bool
	err      error
}

// OpenJournal opens path for appending (creating it with mode 0600) and writes the run's header.
func OpenJournal(path string, header report.JournalLine) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	j := &Journal{f: f, runID: header.RunID, now: time.Now, next: 1}
	j.cond = sync.NewCond(&j.mu)
	header.Type, header.FormatVersion = report.LineHeader, report.JournalFormatVersion
	if header.At.IsZero() {
		header.At = j.now().UTC()
	}
	if err := j.write(header); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// write appends one line and returns once it is on disk.
func (j *Journal) write(l report.JournalLine) error { return j.append(l, true) }

// append adds a line; with wait it returns once the line is on disk, otherwise the next flush
// carries it (records: the outcome they follow is already on disk).
func (j *Journal) append(l report.JournalLine, wait bool) error {
	if l.At.IsZero() {
		l.At = j.now().UTC()
	}
	b, err := l.Encode()
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	j.pending = append(j.pending, b...)
	mine := j.next
	for wait && j.flushed < mine && j.err == nil {
		if j.flushing {
			j.cond.Wait()
			continue
		}
		// Lead: write what has accumulated, then wake the others.
		j.flushing = true
		buf, batch := j.pending, j.next
		j.pending = nil
		j.next++
		j.mu.Unlock()
		_, err := j.f.Write(buf)
		if err == nil {
			err = j.f.Sync()
		}
		j.mu.Lock()
		j.flushing = false
		if err != nil {
			j.err = fmt.Errorf("journal: %w", err)
		}
		j.flushed = batch
		j.cond.Broadcast()
	}
	return j.err
}

// Close writes what is pending and closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	for j.flushing {
		j.cond.Wait()
	}
	buf := j.pending
	j.pending = nil
	j.mu.Unlock()
	var err error
	if len(buf) > 0 {
		if _, err = j.f.Write(buf); err == nil {
			err = j.f.Sync()
		}
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (j *Journal) stepLine(typ string, c *plan.Change, step string, phase int, userID string) report.JournalLine {
	return report.JournalLine{Type: typ, RunID: j.runID, ChangeID: c.ID, Step: step, Phase: phase,
		Kind: c.Kind.String(), Action: c.Action.String(), ExternalID: c.ExternalID, Provider: c.Provider,
		AppName: c.AppName, Env: c.Environment, LeafUserID: userID}
}

// Intent records that a mutating request is about to be sent.
func (j *Journal) Intent(c *plan.Change, step string, phase int, userID string) error {
	if j == nil {
		return nil
	}
	return j.write(j.stepLine(report.LineIntent, c, step, phase, userID))
}

// Outcome records what became of it: status is an report.Outcome*, leafID the object's id when
// known.
func (j *Journal) Outcome(c *plan.Change, step string, phase int, userID, status, leafID string, httpStatus int, class string) error {
	if j == nil {
		return nil
	}
	l := j.stepLine(report.LineOutcome, c, step, phase, userID)
	l.Status, l.LeafID, l.HTTPStatus, l.Class = status, leafID, httpStatus, class
	return j.write(l)
}

// Resolved records the outcome a resume found for an earlier run's unresolved intent.
func (j *Journal) Resolved(intent report.JournalLine, status, leafID string) error {
	if j == nil {
		return nil
	}
	l := intent
	l.Type, l.RunID, l.At, l.Status, l.LeafID = report.LineOutcome, j.runID, time.Time{}, status, leafID
	return j.write(l)
}

// Record writes a change's final record. It does not wait for the disk: the outcome it
// follows is already there, and the next flush (or Close) carries it.
func (j *Journal) Record(r report.Record) error {
	if j == nil {
		return nil
	}
	return j.append(report.JournalLine{Type: report.LineRecord, RunID: j.runID, ChangeID: r.ChangeID, Record: &r}, false)
}
