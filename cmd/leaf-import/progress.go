package main

import (
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// progress shows how an apply advances: a progress bar on stderr when it is a terminal,
// otherwise a log line every interval with done/total, rate and ETA. Both say the pace Leaf's
// requests go at and, when it is below the ceiling, why ("Leaf answered 429: pacing at 14/s").
type progress struct {
	total    int
	bar      *progressbar.ProgressBar
	log      *slog.Logger
	interval time.Duration
	start    time.Time
	pace     func() leaf.PaceStats

	screen *screen

	mu   sync.Mutex
	done int
	fail int
	// waitFor and waitUntil say what the run waits for, while it waits with nothing to do.
	waitFor   string
	waitUntil time.Time
	stop      chan struct{}
	wg        sync.WaitGroup
}

func newProgress(io *IOStreams, scr *screen, log *slog.Logger, total int, interval time.Duration, pace func() leaf.PaceStats) *progress {
	p := &progress{total: total, log: log, interval: interval, start: time.Now(), stop: make(chan struct{}), pace: pace, screen: scr}
	tick := interval
	if io.ErrIsTerminal {
		scr.showBar(true)
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(scr.barWriter()),
			progressbar.OptionSetDescription("applying"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("changes"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		tick = time.Second // the bar's description follows the pace
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				if p.bar != nil {
					p.bar.Describe(p.describe())
					continue
				}
				p.logLine()
			}
		}
	}()
	return p
}

// describe is the bar's description: what the run waits for while it waits, else the pace.
func (p *progress) describe() string {
	if w := p.waitText(); w != "" {
		return w
	}
	return "applying, " + p.paceText()
}

// waitText says what the run waits for and for how much longer ("" when it does not wait).
func (p *progress) waitText() string {
	p.mu.Lock()
	what, until := p.waitFor, p.waitUntil
	p.mu.Unlock()
	left := time.Until(until)
	if what == "" || left <= 0 {
		return ""
	}
	return fmt.Sprintf("waiting %s for %s", left.Round(time.Second), what)
}

// Waiting says the run waits for d, and what for: on the bar until the wait ends (its ETA stands
// still meanwhile), or as a log line.
func (p *progress) Waiting(what string, d time.Duration) {
	p.mu.Lock()
	p.waitFor, p.waitUntil = what, time.Now().Add(d)
	p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe(p.describe())
		return
	}
	if d >= time.Second {
		p.log.Info("waiting for "+what, "wait", d.Round(100*time.Millisecond).String())
	}
}

// paceText says the pace of the requests and why it is below the ceiling, when it is.
func (p *progress) paceText() string {
	if p.pace == nil {
		return ""
	}
	st := p.pace()
	if st.Reason != "" {
		return st.Reason
	}
	if math.IsInf(st.Rate, 1) {
		return "no rate limit"
	}
	return fmt.Sprintf("pacing at %.1f/s", st.Rate)
}

// Start is nothing to a progress bar: it counts finished changes.
func (p *progress) Start(*plan.Change) {}

// record counts one finished change.
func (p *progress) Record(r report.Record) {
	p.mu.Lock()
	p.done++
	if r.Status == report.StatusFailed {
		p.fail++
	}
	p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Add(1)
	}
}

func (p *progress) logLine() {
	p.mu.Lock()
	done, fail := p.done, p.fail
	p.mu.Unlock()
	elapsed := time.Since(p.start)
	rate := float64(done) / elapsed.Seconds()
	eta := "unknown"
	if rate > 0 {
		eta = time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	p.log.Info("progress", "done", done, "total", p.total, "failed", fail,
		"rate", fmt.Sprintf("%.1f/s", rate), "eta", eta, "pace", p.paceText())
}

// finish stops the bar or the log ticker.
func (p *progress) Finish() {
	close(p.stop)
	p.wg.Wait()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.screen.showBar(false)
	}
}
