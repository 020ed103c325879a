package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Writer keeps the report of a running apply. While the run goes on, the file is a report in
// progress: a head line, then one record per line, appended every few seconds (never rewritten:
// a run of 100,000 changes costs O(N) writes, not O(N²)). At the end the file is replaced
// atomically by the final report. A report in progress, even cut by a kill in the middle of a
// line, is read back by Load (ReadProgress). Between writes the journal is the durable record.
type Writer struct {
	path  string
	mu    sync.Mutex
	rep   Report
	prior []Record
	// written counts this run's records already appended to the file; f is the file in
	// progress (nil before the first write).
	written int
	f       *os.File
	err     error
	stop    chan struct{}
	done    chan struct{}
}

// NewWriter returns a writer for path; prior are earlier runs' records the report carries on.
func NewWriter(path string, run Run, prior []Record) *Writer {
	return &Writer{path: path, rep: Report{FormatVersion: FormatVersion, Run: run}, prior: prior}
}

// Add records one change's end.
func (w *Writer) Add(r Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rep.Records = append(w.rep.Records, r)
}

// Merged returns every record the report holds: earlier runs' that this run did not redo, then
// this run's.
func (w *Writer) Merged() []Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Merge(w.prior, w.rep.Records)
}

// Records returns this run's records so far.
func (w *Writer) Records() []Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Record(nil), w.rep.Records...)
}

// Start appends the new records to the file every period, until Close.
func (w *Writer) Start(period time.Duration) {
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				_ = w.Flush()
			}
		}
	}()
}

// progressHead opens a report in progress: formatVersion, inProgress and the run, then the
// records, one per line.
type progressHead struct {
	FormatVersion int  `json:"formatVersion"`
	InProgress    bool `json:"inProgress"`
	Run           Run  `json:"run"`
}

// Flush appends the records added since the last flush (the first flush writes the head and
// the earlier runs' records).
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.f == nil {
		f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err == nil {
			err = f.Chmod(0o600)
		}
		if err != nil {
			w.err = err
			return err
		}
		w.f = f
		head, _ := json.Marshal(progressHead{FormatVersion: FormatVersion, InProgress: true, Run: w.rep.Run})
		if err := w.appendLines(append(head[:len(head)-1], []byte(`,"records":[`)...), w.prior); err != nil {
			return err
		}
	}
	if w.written == len(w.rep.Records) {
		return nil
	}
	err := w.appendLines(nil, w.rep.Records[w.written:])
	if err == nil {
		w.written = len(w.rep.Records)
	}
	return err
}

// appendLines writes an optional head line and one line per record (each followed by a comma).
func (w *Writer) appendLines(head []byte, recs []Record) error {
	bw := bufio.NewWriterSize(w.f, 64<<10)
	if head != nil {
		bw.Write(head)
		bw.WriteByte('\n')
	}
	for i := range recs {
		b, err := json.Marshal(&recs[i])
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteString(",\n")
	}
	if err := bw.Flush(); err != nil {
		w.err = fmt.Errorf("report %s: %w", w.path, err)
		return w.err
	}
	return nil
}

// Close stops the periodic appends and replaces the file with the final report (run, summary,
// every record), and writes it to each of copies (JSON or CSV by extension).
func (w *Writer) Close(run Run, summary Summary, copies ...string) (*Report, error) {
	if w.stop != nil {
		close(w.stop)
		<-w.done
		w.stop = nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	w.rep.Run, w.rep.Summary = run, summary
	rep := w.rep
	rep.Records = Merge(w.prior, w.rep.Records)
	err := rep.Save(w.path)
	for _, c := range copies {
		if cerr := rep.Save(c); cerr != nil && err == nil {
			err = cerr
		}
	}
	return &rep, err
}
