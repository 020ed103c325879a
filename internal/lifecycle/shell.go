package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// Shell is the run shell of link-keys and doctor, the commands that send mutations outside a
// plan: the account's lock, the settling of what earlier runs left in doubt, the run's
// directory, journal and report, and the record of how the run ended. Apply has the same steps
// with a resume around them (apply.go) and shares endRun. A killed link-keys or doctor is
// therefore settled by the next run of the account like a killed apply.
type Shell struct {
	s     *session
	o     *Options
	runID string
	start time.Time
	lock  *workspace.Lock
	// created maps the externalIds of the users recent runs created (or settling found) to
	// their Leaf ids: what a lagging list may not show yet.
	created map[string]string

	run     *workspace.Run
	journal *exec.Journal
	rw      *report.Writer
	rrun    report.Run
	mu      sync.Mutex
	seq     int
}

// EnterShell takes the account's lock, authenticates, and settles what earlier runs left in
// doubt (window bounds the lookups, 0 for the account's own; concurrency runs that many at
// once). The caller releases
// the lock with Leave.
func EnterShell(ctx context.Context, o *Options, window time.Duration, concurrency int) (*Shell, error) {
	start := time.Now()
	sh := &Shell{o: o, runID: NewRunID(start), start: start}
	s, err := open(*o, true)
	if err != nil {
		return nil, err
	}
	sh.s = s
	if sh.lock, err = s.lock(sh.runID, start); err != nil {
		return nil, err
	}
	if err := sh.enter(ctx, window, concurrency); err != nil {
		sh.Leave()
		return nil, err
	}
	return sh, nil
}

func (sh *Shell) enter(ctx context.Context, window time.Duration, concurrency int) error {
	if err := sh.o.Client.Authenticate(ctx); err != nil {
		return err
	}
	h, err := sh.s.history()
	if err != nil {
		return err
	}
	if window <= 0 {
		window = sh.s.lookupWindow(time.Now())
	}
	found, err := settle(ctx, sh.o, window, concurrency, sh.runID, doubtfuls(h))
	if err != nil {
		return err
	}
	sh.created = maps.Clone(h.Created)
	maps.Copy(sh.created, found)
	return nil
}

// Leave releases the account's lock.
func (sh *Shell) Leave() {
	if sh.lock != nil {
		sh.lock.Release()
	}
}

// Begin creates the run's directory, journal and report, for command on manifest (a path, or
// "" for none).
func (sh *Shell) Begin(command, manifest string) error {
	o := sh.o
	host, _ := os.Hostname()
	meta := workspace.Meta{RunID: sh.runID, StartedAt: sh.start.UTC(), Status: workspace.RunRunning, Tool: o.Tool,
		Command: command, PID: os.Getpid(), Host: host}
	digest := ""
	if manifest != "" {
		meta.Manifest = absPath(manifest)
	}
	if o.Manifest != nil {
		digest = o.Manifest.Digest
	}
	run, err := sh.s.ws.NewRun(meta)
	if err != nil {
		return err
	}
	j, err := exec.OpenJournal(run.Journal(), report.Header{RunID: sh.runID, Tool: o.Tool, ManifestDigest: digest,
		LeafURL: o.Client.BaseURL(), Account: o.Account.Owner, Report: run.ReportPath()})
	if err != nil {
		return fmt.Errorf("cannot open the journal: %w", err)
	}
	sh.run, sh.journal = run, j
	sh.rrun = report.Run{ID: sh.runID, Tool: o.Tool, ManifestDigest: digest, LeafURL: o.Client.BaseURL(),
		Account: o.Account.Owner, Journal: run.Journal(), StartedAt: sh.start.UTC()}
	sh.rw = report.NewWriter(run.ReportPath(), sh.rrun, nil)
	return nil
}

// Record numbers a change's record, journals it and adds it to the report.
func (sh *Shell) Record(r report.Record) {
	sh.mu.Lock()
	sh.seq++
	r.Seq, r.RunID = sh.seq, sh.runID
	sh.mu.Unlock()
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now().UTC()
	}
	if err := sh.journal.Record(r); err != nil {
		sh.o.Log.Error("cannot write the journal", "err", err)
	}
	sh.rw.Add(r)
}

// End writes the report, closes the journal and records how the run ended (failed when runErr
// is set or a change failed), then prunes the runs beyond keep. It returns the report's error.
func (sh *Shell) End(runErr error, failed bool, keep int) (report.Summary, error) {
	stats := sh.o.Client.Stats()
	sh.rrun.EndedAt = time.Now().UTC()
	summary, _, werr := sh.rw.Close(sh.rrun, report.RunStats{Requests: stats.Requests, Retries: stats.Retries,
		Duration: sh.rrun.EndedAt.Sub(sh.start)})
	status := workspace.RunSucceeded
	if runErr != nil || failed || werr != nil || summary.Failed > 0 {
		status = workspace.RunFailed
	}
	endRun(sh.s.ws, sh.run, sh.journal, status, sh.rrun.EndedAt, &summary, keep, sh.o.Log)
	return summary, werr
}

// endRun closes the run's journal (writing the --journal copy when one was asked for), records
// how the run ended in its directory (settled when the journal closed with every intent
// answered), and prunes the account's runs beyond keep (0 keeps all). It returns the journal a
// person should be pointed to: the copy when it was written, else the run's own.
func endRun(ws *workspace.Workspace, run *workspace.Run, j *exec.Journal, status workspace.RunStatus, ended time.Time,
	summary *report.Summary, keep int, log *slog.Logger) string {
	journal := run.Journal()
	jerr := j.Close()
	if run.Meta.JournalCopy != "" {
		if err := copyFile(run.Journal(), run.Meta.JournalCopy); err != nil {
			log.Error("cannot write the --journal copy; the run's journal is in the workspace", "journal", run.Journal(), "err", err)
		} else {
			journal = run.Meta.JournalCopy
		}
	}
	run.Meta.Status, run.Meta.FinishedAt, run.Meta.Summary = status, ended, summary
	run.Meta.Settled = jerr == nil && j.Open() == 0
	if err := run.Save(); err != nil {
		log.Error("cannot record the run in the account's history", "err", err)
	}
	if removed, err := ws.Prune(keep, run.Meta.RunID); err != nil {
		log.Warn("cannot remove old runs", "err", err)
	} else if len(removed) > 0 {
		log.Info("removed old runs beyond --keep-runs", "runs", len(removed), "keep", keep)
	}
	return journal
}

// lookupWindow is the account's lookup window: the floor, raised by the list lag doctor
// measured or an earlier run saw of its own creates (while fresh).
func (s *session) lookupWindow(now time.Time) time.Duration {
	w := exec.DefaultLookupWindow
	if s.ws == nil {
		return w
	}
	if f, err := s.ws.Facts(); err == nil && f != nil && f.Fresh(now) {
		w = max(w, LookupWindowFor(f.ListLagSeconds))
	}
	if l, err := s.ws.Learned(); err == nil {
		if lag, ok := l.FreshLag(now); ok {
			w = max(w, LookupWindowFor(lag.Seconds()))
		}
	}
	return min(w, exec.MaxLookupWindow)
}

// Journal is the run's journal (Begin opens it): what every mutation of the run is sent
// through (exec.Send).
func (sh *Shell) Journal() *exec.Journal { return sh.journal }

// Created maps the externalIds of the users recent runs created (or settling found) to their
// Leaf ids: what a lagging list may not show yet.
func (sh *Shell) Created() map[string]string { return sh.created }

// Workspace is the account's workspace.
func (sh *Shell) Workspace() *workspace.Workspace { return sh.s.ws }

// LookupWindowFor is the lookup window apply uses on an account whose measured list lag is lag:
// twice the lag plus a second, never under one second.
func LookupWindowFor(lag float64) time.Duration {
	return max(time.Duration((2*lag+1)*float64(time.Second)).Round(100*time.Millisecond), time.Second)
}
