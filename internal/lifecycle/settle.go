package lifecycle

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// doubtful is a journal with requests in doubt: an earlier run of the workspace, or a file
// from outside it that --resume names.
type doubtful struct {
	run     *workspace.Run // nil outside the workspace
	prior   *report.Prior
	journal string // "" when the journal is gone (prior read from a report)
	// gap: prior was read from a report, or a damaged journal, which can miss the run's last
	// requests.
	gap bool
	// damaged says how the journal is damaged (nil when it is not).
	damaged error
}

// settle looks up every request the earlier runs left in doubt, all of them sharing one lookup
// window, and appends what it found to the journal of the run that sent it, so that each
// journal tells its own story. Runs read from a report alone are covered by waiting until
// Leaf's lists show whatever they may have created. It returns the users found created.
// window bounds the lookups of users and the wait for runs known from a report; concurrency is
// how many lookups run at once.
func settle(ctx context.Context, o *Options, window time.Duration, concurrency int, runID string, ds []doubtful) (map[string]string, error) {
	var intents []report.Intent
	journals := map[string]*exec.Journal{} // by the run id that wrote an intent
	var opened []*exec.Journal
	defer func() {
		for _, j := range opened {
			_ = j.Close()
		}
	}()
	var wait time.Time
	for _, d := range ds {
		if d.damaged != nil {
			o.Log.Warn("an earlier run's journal is damaged: that run is in doubt as a whole, so this run waits out Leaf's list lag "+
				"from its last write and reads Leaf afresh before creating anything", "err", d.damaged)
		}
		if d.gap {
			if until := gapUntil(d.prior, time.Now(), window); until.After(wait) {
				wait = until
			}
		}
		if len(d.prior.Unresolved) == 0 || d.journal == "" {
			continue
		}
		j, err := exec.AppendJournal(d.journal, runID)
		if err != nil {
			return nil, fmt.Errorf("settling an earlier run: %w", err)
		}
		opened = append(opened, j)
		for _, id := range d.prior.RunIDs {
			journals[id] = j
		}
		for _, in := range d.prior.Unresolved {
			if journals[in.RunID] == nil {
				journals[in.RunID] = j
			}
			intents = append(intents, in)
		}
	}
	created := map[string]string{}
	if len(intents) > 0 {
		o.Log.Info("settling requests earlier runs left in doubt, by lookup", "count", len(intents))
		stop := progressWhile(ctx, o.Log, o.Client, "settling requests earlier runs left in doubt", len(intents))
		var mu sync.Mutex // the lookups run concurrently
		counts := map[change.Outcome]int{}
		found, err := exec.Resolve(ctx, o.Client, intents, func(in report.Intent, status change.Outcome, id string) error {
			mu.Lock()
			counts[status]++
			mu.Unlock()
			return journals[in.RunID].Resolved(in, status, id)
		}, window, concurrency, nil, o.Log)
		stop()
		if err != nil {
			return nil, err
		}
		o.Log.Info("settled the requests earlier runs left in doubt", "count", len(intents),
			"done", counts[change.OutcomeFound]+counts[change.OutcomeSucceeded], "notDone", counts[change.OutcomeAbsent])
		created = found
	}
	if err := waitForGaps(ctx, o, wait); err != nil {
		return nil, err
	}
	if err := markSettled(ds); err != nil {
		return nil, err
	}
	return created, nil
}

// markSettled records the earlier runs as settled; one still marked running crashed (this run
// holds the lock, so it runs no more).
func markSettled(ds []doubtful) error {
	for _, d := range ds {
		if d.run == nil {
			continue
		}
		d.run.Meta.Settled = true
		if d.run.Meta.Status == workspace.RunRunning {
			d.run.Meta.Status = workspace.RunCrashed
		}
		if err := d.run.Save(); err != nil {
			return err
		}
	}
	return nil
}

// waitForGaps waits until wait, when earlier runs known only from a report (which can miss
// their last requests) may have created what Leaf's lists do not show yet.
func waitForGaps(ctx context.Context, o *Options, wait time.Time) error {
	d := time.Until(wait)
	if d <= 0 {
		return nil
	}
	o.Log.Warn("an earlier run is known only from its report, which can miss its last requests: waiting for Leaf's lists to show "+
		"whatever they created before reading them", "wait", d.Round(100*time.Millisecond).String())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
