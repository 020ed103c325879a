package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gocarina/gocsv"

	"github.com/leaf-import/leaf-import/internal/csvcell"
	"github.com/leaf-import/leaf-import/internal/jsonstream"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
)

// Writer keeps the report of a running apply. While the run goes on, the file is a report in
// progress: a head line, then one record per line, appended every few seconds (never rewritten:
// a run of 100,000 changes costs O(N) writes, not O(N²)). A record is held in memory only until
// it is appended. At the end the final report is written from the file in progress, record by
// record, and replaces it atomically. A report in progress, even cut by a kill in the middle of
// a line, is read back by Load (ReadProgress). Between writes the journal is the durable record.
type Writer struct {
	path  string
	mu    sync.Mutex
	run   Run
	prior []Record
	// pending are this run's records not appended yet; redone names the changes this run
	// recorded (kept only when there are earlier runs' records to supersede).
	pending []Record
	redone  map[string]bool
	f       *os.File
	err     error
	stop    chan struct{}
	done    chan struct{}
}

// NewWriter returns a writer for path; prior are earlier runs' records the report carries on.
func NewWriter(path string, run Run, prior []Record) *Writer {
	w := &Writer{path: path, run: run, prior: prior}
	if len(prior) > 0 {
		w.redone = map[string]bool{}
	}
	return w
}

// Add records one change's end.
func (w *Writer) Add(r Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, r)
	if w.redone != nil {
		w.redone[r.ChangeID] = true
	}
}

// Start appends the new records to the file every period, until Close (a period of 0 or less
// writes them at Close only).
func (w *Writer) Start(period time.Duration) {
	if period <= 0 {
		return
	}
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
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
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
		head, _ := json.Marshal(progressHead{FormatVersion: FormatVersion, InProgress: true, Run: w.run})
		if err := w.appendLines(append(head[:len(head)-1], []byte(`,"records":[`)...), w.prior); err != nil {
			return err
		}
	}
	if len(w.pending) == 0 {
		return nil
	}
	err := w.appendLines(nil, w.pending)
	if err == nil {
		w.pending = w.pending[:0:0] // appended: no longer held
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

// RunStats are the figures of the run itself that the summary carries besides the counts.
type RunStats struct {
	Requests int64
	Retries  map[string]int64
	Lookups  int64
	Duration time.Duration
	Pace     *Pace
}

// Close stops the periodic appends, appends what is left, and writes the final report (run,
// summary, every record: the earlier runs' that this run did not redo, then this run's,
// numbered in that order) over the file in progress, and to each of copies (JSON or CSV by
// extension). Records are streamed from the file in progress, never held all at once. It
// returns the summary and the number of records.
func (w *Writer) Close(run Run, st RunStats, copies ...string) (Summary, int, error) {
	if w.stop != nil {
		close(w.stop)
		<-w.done
		w.stop = nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.flushLocked()
	if w.f != nil {
		if cerr := w.f.Close(); err == nil {
			err = cerr
		}
		w.f = nil
	}
	sum := newSummarizer()
	n := 0
	if err == nil {
		err = w.each(func(r *Record) error { sum.add(r); n++; return nil })
	}
	summary := sum.summary(st)
	if err != nil {
		return summary, n, err
	}
	head := Report{FormatVersion: FormatVersion, Run: run, Summary: summary}
	// The copies first: the report in progress is their source until it is replaced.
	for _, c := range append(slices.Clone(copies), w.path) {
		if werr := atomicfile.WriteFunc(c, 0o600, func(out io.Writer) error {
			if IsCSV(c) {
				return w.writeCSV(out)
			}
			return w.writeJSON(out, &head)
		}); werr != nil && err == nil {
			err = werr
		}
	}
	return summary, n, err
}

// each calls fn with every record of the final report, in order and renumbered, read from the
// file in progress.
func (w *Writer) each(fn func(*Record) error) error {
	f, err := os.Open(w.path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	if _, err := br.ReadBytes('\n'); err != nil { // the head line
		return fmt.Errorf("report %s: %w", w.path, err)
	}
	seq := 0
	for i := 0; ; i++ {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		line = bytes.TrimSuffix(bytes.TrimSpace(line), []byte(","))
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("report %s: record %d: %w", w.path, i+1, err)
		}
		if i < len(w.prior) && w.redone[r.ChangeID] {
			continue // an earlier run's record that this run redid
		}
		seq++
		r.Seq = seq
		if err := fn(&r); err != nil {
			return err
		}
	}
}

// writeJSON writes the final report as indented JSON, the records streamed one by one: the
// bytes are those of encoding the whole Report with Encode.
func (w *Writer) writeJSON(out io.Writer, head *Report) error {
	arr, err := jsonstream.Open(out, head, "records", "null")
	if err != nil {
		return err
	}
	var rb bytes.Buffer
	err = w.each(func(r *Record) error {
		rb.Reset()
		if err := jsonstream.Encode(&rb, r, "    "); err != nil {
			return err
		}
		return arr.Add(bytes.TrimRight(rb.Bytes(), "\n"))
	})
	if err != nil {
		return err
	}
	return arr.Close()
}

// csvChunk is how many records go to gocsv at once when a CSV report is written.
const csvChunk = 1000

// writeCSV writes the records as CSV, a chunk at a time.
func (w *Writer) writeCSV(out io.Writer) error {
	chunk := make([]Record, 0, csvChunk)
	header := true
	emit := func() error {
		var err error
		if header {
			err = gocsv.MarshalCSV(&chunk, csvcell.NewWriter(out, false))
		} else {
			err = gocsv.MarshalCSVWithoutHeaders(&chunk, csvcell.NewWriter(out, false))
		}
		header, chunk = false, chunk[:0]
		return err
	}
	err := w.each(func(r *Record) error {
		chunk = append(chunk, *r)
		if len(chunk) == csvChunk {
			return emit()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(chunk) > 0 || header {
		return emit()
	}
	return nil
}
