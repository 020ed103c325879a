package report

import (
	"sync"
	"time"
)

// Writer keeps the report of a running apply and rewrites its file every few seconds while
// records arrive, and once more at the end. Between rewrites the journal is the durable record.
type Writer struct {
	path  string
	mu    sync.Mutex
	rep   Report
	prior []Record
	dirty bool
	err   error
	stop  chan struct{}
	done  chan struct{}
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
	w.dirty = true
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

// Start rewrites the file every period while there is something new, until Close.
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
				w.mu.Lock()
				dirty := w.dirty
				w.mu.Unlock()
				if dirty {
					_ = w.Flush(nil)
				}
			}
		}
	}()
}

// Flush rewrites the file now; summary, when given, replaces the summary.
func (w *Writer) Flush(summary *Summary) error {
	w.mu.Lock()
	rep := w.rep
	rep.Records = Merge(w.prior, w.rep.Records)
	if summary != nil {
		w.rep.Summary = *summary
		rep.Summary = *summary
	}
	w.dirty = false
	w.mu.Unlock()
	err := rep.Save(w.path)
	w.mu.Lock()
	if err != nil {
		w.err = err
	}
	w.mu.Unlock()
	return err
}

// Close stops the periodic rewrite and writes the final report with run and summary, to the
// writer's file and to each of copies (JSON or CSV by extension).
func (w *Writer) Close(run Run, summary Summary, copies ...string) (*Report, error) {
	if w.stop != nil {
		close(w.stop)
		<-w.done
		w.stop = nil
	}
	w.mu.Lock()
	w.rep.Run = run
	w.mu.Unlock()
	err := w.Flush(&summary)
	w.mu.Lock()
	defer w.mu.Unlock()
	rep := w.rep
	rep.Records = Merge(w.prior, w.rep.Records)
	for _, c := range copies {
		if cerr := rep.Save(c); cerr != nil && err == nil {
			err = cerr
		}
	}
	return &rep, err
}
