package main

import (
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/leaf-import/leaf-import/internal/leaf"
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

	mu   sync.Mutex
	done int
	fail int
	stop chan struct{}
	wg   sync.WaitGroup
}

func newProgress(io *IOStreams, log *slog.Logger, total int, interval time.Duration, pace func() leaf.PaceStats) *progress {
	p := &progress{total: total, log: log, interval: interval, start: time.Now(), stop: make(chan struct{}), pace: pace}
	tick := interval
	if io.ErrIsTerminal {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(io.ErrOut),
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
					p.bar.Describe("applying, " + p.paceText())
					continue
				}
				p.logLine()
			}
		}
	}()
	return p
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
	}
}
