package exec

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// Journal is the append-only write-ahead journal of a migration (JSONL, mode 0600). Every line
// is on disk (fsynced) before the call that wrote it returns: an intent before its request is
// sent, an outcome after its answer. Concurrent writers share fsyncs (group commit), so the
// journal costs one fsync per burst of lines, not one per line. Each line carries a chained
// checksum, and after each fsync the seal beside the journal records its size (report.Checksum
// and report.Seal), so that a damaged or cut journal is told from a torn last line.
type Journal struct {
	f     *os.File
	seal  *os.File
	runID string
	now   func() time.Time

	mu       sync.Mutex
	cond     *sync.Cond
	pending  []byte
	spare    []byte // the buffer of the last flush, reused for the next batch
	next     uint64 // batch that pending belongs to
	flushed  uint64 // last batch on disk
	flushing bool
	err      error
	// size is the length of the file up to its last complete line: a failed write (a full
	// disk) is cut back to it, so that the file never keeps half a line.
	size int64
	// last is the checksum of the last line appended: the chain's next starting value.
	last uint32
	// open holds the steps with an intent and no outcome yet.
	open map[string]bool
	// syncs counts fsyncs (group commit makes them fewer than lines).
	syncs atomic.Int64
}

// OpenJournal opens path for appending (creating it with mode 0600) and writes the run's header.
// A torn last line (a crash or a full disk while it was written) is cut off first.
func OpenJournal(path string, header report.Header) (*Journal, error) {
	j, err := AppendJournal(path, header.RunID)
	if err != nil {
		return nil, err
	}
	header.FormatVersion = report.JournalFormatVersion
	if err := j.write(&header); err != nil {
		j.f.Close()
		return nil, err
	}
	return j, nil
}

// AppendJournal opens an existing journal (or creates one) to append lines for run runID
// without a header: a later run settling this journal's requests in doubt. A torn last line is
// cut off first.
func AppendJournal(path, runID string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	size, err := cutTornTail(f)
	var last uint32
	if err == nil {
		last, err = lastChecksum(f, size)
	}
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		_, err = f.Seek(size, io.SeekStart)
	}
	var seal *os.File
	if err == nil {
		seal, err = os.OpenFile(report.SealPath(path), os.O_RDWR|os.O_CREATE, 0o600)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j := &Journal{f: f, seal: seal, runID: runID, now: time.Now, next: 1, size: size, last: last, open: map[string]bool{}}
	j.cond = sync.NewCond(&j.mu)
	return j, nil
}

// lastChecksum reads the checksum of the journal's last line, ending at size.
func lastChecksum(f *os.File, size int64) (uint32, error) {
	start := max(size-64<<10, 0)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
		return 0, err
	}
	return report.LastChecksum(buf), nil
}

// cutTornTail truncates f after its last newline (a line without one was torn by a crash or a
// short write) and fsyncs the cut. It returns the new size.
func cutTornTail(f *os.File) (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := info.Size()
	const chunk = 64 << 10
	end := size
	for end > 0 {
		start := max(end-chunk, 0)
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			end = start + int64(i) + 1
			break
		}
		end = start
	}
	if end == size {
		return size, nil
	}
	if err := f.Truncate(end); err != nil {
		return 0, err
	}
	return end, f.Sync()
}

// Open returns how many of the steps this journal object recorded an intent for have no
// outcome yet: requests whose fate is unknown (a later run settles them by lookup).
func (j *Journal) Open() int {
	if j == nil {
		return 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.open)
}

// write appends one line and returns once it is on disk.
func (j *Journal) write(l report.Line) error { return j.append(l, true) }

// append adds a line; with wait it returns once the line is on disk, otherwise the next flush
// carries it (records: the outcome they follow is already on disk).
func (j *Journal) append(l report.Line, wait bool) error {
	b, err := report.EncodeLine(l, j.now().UTC())
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	b, j.last = report.Checksum(b, j.last)
	switch l := l.(type) {
	case *report.Intent:
		j.open[l.Key()] = true
	case *report.Outcome:
		delete(j.open, l.Key())
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
		buf, batch, last := j.pending, j.next, j.last
		j.pending, j.spare = j.spare[:0], nil
		j.next++
		j.mu.Unlock()
		err := j.flush(buf, last)
		j.mu.Lock()
		j.flushing = false
		if cap(buf) <= 1<<20 {
			j.spare = buf // written: its memory carries the batch after next
		}
		if err != nil {
			j.err = fmt.Errorf("journal: %w", err)
		}
		j.flushed = batch
		j.cond.Broadcast()
	}
	return j.err
}

// flush writes buf and fsyncs it, then records in the seal the size the journal now has and
// last, the checksum of buf's last line. A failed or short write is cut back to the last
// complete line, so that the journal stays readable and a later run can append to it. The seal
// is not fsynced: a kill leaves it in the system's cache, and a power cut can only leave it
// older than the journal, never ahead of it.
func (j *Journal) flush(buf []byte, last uint32) error {
	n, err := j.f.Write(buf)
	if err == nil {
		err = j.f.Sync()
		j.syncs.Add(1)
	}
	if err != nil {
		if n > 0 {
			_ = j.f.Truncate(j.size)
			_, _ = j.f.Seek(j.size, io.SeekStart)
		}
		return err
	}
	j.size += int64(n)
	if _, err := j.seal.WriteAt(report.Seal{Size: j.size, Last: last}.Encode(), 0); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	return nil
}

// Close writes what is pending and closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	for j.flushing {
		j.cond.Wait()
	}
	buf, last := j.pending, j.last
	j.pending = nil
	j.mu.Unlock()
	var err error
	if len(buf) > 0 && j.err == nil {
		err = j.flush(buf, last)
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	if cerr := j.seal.Close(); err == nil {
		err = cerr
	}
	return err
}

func (j *Journal) stepRef(c *plan.Change, step change.Step, phase int, userID string) report.StepRef {
	ref := report.StepRef{RunID: j.runID, ChangeID: c.ID, Step: step, Phase: phase, Kind: c.Kind, Action: c.Action,
		ExternalID: c.ExternalID, Provider: c.Provider, AppName: c.AppName, Env: c.Environment, LeafUserID: userID}
	if c.Kind == change.KindConfig && c.Grower != nil {
		ref.ConfigDigest = c.Grower.Config.Digest()
	}
	return ref
}

// Intent records that a mutating request is about to be sent.
func (j *Journal) Intent(c *plan.Change, step change.Step, phase int, userID string) error {
	if j == nil {
		return nil
	}
	return j.write(&report.Intent{StepRef: j.stepRef(c, step, phase, userID)})
}

// IntentLabeled records an API key create, with the label (the key's description) a later run
// finds the key by if the answer is lost.
func (j *Journal) IntentLabeled(c *plan.Change, step change.Step, phase int, userID, label string) error {
	if j == nil {
		return nil
	}
	ref := j.stepRef(c, step, phase, userID)
	ref.Label = label
	return j.write(&report.Intent{StepRef: ref})
}

// Outcome records what became of it: status says what, leafID is the object's id when known.
func (j *Journal) Outcome(c *plan.Change, step change.Step, phase int, userID string, status change.Outcome, leafID string, httpStatus int, class string) error {
	if j == nil {
		return nil
	}
	return j.write(&report.Outcome{StepRef: j.stepRef(c, step, phase, userID), Status: status, LeafID: leafID,
		HTTPStatus: httpStatus, Class: class})
}

// Resolved records the outcome a later run's lookup found for an earlier run's unresolved
// intent. The line keeps the intent's run id (it is that run's request whose fate it tells)
// and names the run that looked it up in SettledBy.
func (j *Journal) Resolved(intent report.Intent, status change.Outcome, leafID string) error {
	if j == nil {
		return nil
	}
	return j.write(&report.Outcome{StepRef: intent.StepRef, Status: status, LeafID: leafID, Class: "lookup", SettledBy: j.runID})
}

// Record writes a change's final record. It does not wait for the disk: the outcome it
// follows is already there, and the next flush (or Close) carries it.
func (j *Journal) Record(r report.Record) error {
	if j == nil {
		return nil
	}
	return j.append(&report.RecordLine{RunID: j.runID, ChangeID: r.ChangeID, Record: &r}, false)
}
