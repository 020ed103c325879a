package main

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// EventsVersion is the version of apply --format json's event stream; every event carries it
// as "v". A field may be added within a version; none is removed or renamed.
const EventsVersion = 1

// event is one line of apply --format json.
type event struct {
	V    int       `json:"v"`
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	// start: the changes the run applies.
	Total int `json:"total,omitempty"`
	// change_start: the change; change: its record (the report's record).
	Change *changeRef     `json:"change,omitempty"`
	Record *report.Record `json:"record,omitempty"`
	// progress.
	Done   *int `json:"done,omitempty"`
	Failed *int `json:"failed,omitempty"`
	// pace: requests per second and why it is below the ceiling.
	Rate   *float64 `json:"rate,omitempty"`
	Reason string   `json:"reason,omitempty"`
	// wait: what for and how long.
	Wait    string   `json:"wait,omitempty"`
	Seconds *float64 `json:"seconds,omitempty"`
	// summary: the report's summary, the last event.
	Summary *report.Summary `json:"summary,omitempty"`
	RunID   string          `json:"runId,omitempty"`
}

type changeRef struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Action     string `json:"action"`
	ExternalID string `json:"externalId,omitempty"`
	Provider   string `json:"provider,omitempty"`
	AppName    string `json:"appName,omitempty"`
}

// events writes apply's progress as JSON lines on stdout (lifecycle.Progress): a start, a
// change_start and a change per change, progress and pace every interval, waits; the summary
// is written by summary once the run returns.
type events struct {
	mu   sync.Mutex
	enc  *json.Encoder
	pace func() leaf.PaceStats

	done, failed int
	lastPace     leaf.PaceStats
	stop         chan struct{}
	wg           sync.WaitGroup
}

func newEvents(w io.Writer, total int, every time.Duration, pace func() leaf.PaceStats) *events {
	e := &events{enc: json.NewEncoder(w), pace: pace, stop: make(chan struct{})}
	e.enc.SetEscapeHTML(false)
	e.emit(event{Type: "start", Total: total})
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
				e.tick()
			}
		}
	}()
	return e
}

func (e *events) emit(ev event) {
	ev.V, ev.At = EventsVersion, time.Now().UTC()
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.enc.Encode(ev)
}

// tick writes the progress, and the pace when it changed.
func (e *events) tick() {
	e.mu.Lock()
	done, failed := e.done, e.failed
	e.mu.Unlock()
	e.emit(event{Type: "progress", Done: &done, Failed: &failed})
	if e.pace == nil {
		return
	}
	if st := e.pace(); st.Rate != e.lastPace.Rate || st.Reason != e.lastPace.Reason {
		e.lastPace = st
		rate := st.Rate
		if rate > 1e9 {
			rate = 0 // unlimited: JSON has no infinity
		}
		e.emit(event{Type: "pace", Rate: &rate, Reason: st.Reason})
	}
}

func (e *events) Start(c *plan.Change) {
	e.emit(event{Type: "change_start", Change: &changeRef{ID: c.ID, Kind: string(c.Kind), Action: string(c.Action),
		ExternalID: c.ExternalID, Provider: c.Provider, AppName: c.AppName}})
}

func (e *events) Record(r report.Record) {
	e.mu.Lock()
	e.done++
	if r.Status == report.StatusFailed {
		e.failed++
	}
	e.mu.Unlock()
	e.emit(event{Type: "change", Record: &r})
}

func (e *events) Waiting(what string, d time.Duration) {
	s := d.Seconds()
	e.emit(event{Type: "wait", Wait: what, Seconds: &s})
}

func (e *events) Finish() {
	close(e.stop)
	e.wg.Wait()
	e.tick()
}

// summary writes the last event: the run's summary, the report's own.
func writeSummaryEvent(w io.Writer, runID string, s report.Summary) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(event{V: EventsVersion, Type: "summary", At: time.Now().UTC(), RunID: runID, Summary: &s})
}
