package exec

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/leaf-import/leaf-import/internal/plan"
)

// scheduler runs a run's tasks on its workers: one errgroup, bounded to Options.Concurrency,
// for the whole run. Only the goroutine that calls Apply submits (the dispatcher): it takes the
// plan's changes as workers free up, settles parked creates whose lookup window has passed
// between two submissions, and waits for the workers at the two points where the run needs
// them idle (after the apps; at the end, before it settles what is still parked). Once the run
// stops, is cancelled or meets a fatal error, what is submitted is recorded pending instead.
//
// Workers never wait for one another: the one pause in a run is the named lock runner.listing,
// which a read of every user page takes for writing while user creates and deletes hold it for
// reading (see readParked).
type scheduler struct {
	r      *runner
	g      errgroup.Group
	ctx    context.Context
	cancel context.CancelCauseFunc
	// least is how many parked creates must be ready before they are settled mid-run.
	least int
	// checked is when the dispatcher last looked for parked creates to settle.
	checked time.Time
}

// settleEvery is how often the dispatcher looks for parked creates whose window has passed.
const settleEvery = 250 * time.Millisecond

func newScheduler(ctx context.Context, r *runner) *scheduler {
	s := &scheduler{r: r, least: 1}
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	s.g.SetLimit(r.opts.Concurrency)
	if r.opts.ListPages > 0 {
		// A read of every user page settles them together: wait until it costs at most a
		// quarter request per create.
		s.least = 4 * r.opts.ListPages
	}
	return s
}

// over reports whether the run stopped, was cancelled, or met a fatal error.
func (s *scheduler) over() bool { return s.r.isStopped() || s.ctx.Err() != nil }

// fail ends the run on a fatal error: what is in flight is cancelled, the rest is pending.
func (s *scheduler) fail(err error) {
	if err != nil {
		s.cancel(err)
	}
}

// err is the error that ended the run early, nil when none did.
func (s *scheduler) err() error {
	if s.ctx.Err() == nil {
		return nil
	}
	return context.Cause(s.ctx)
}

// submit runs t on the next free worker (waiting for one), after settling the parked creates
// that are ready.
func (s *scheduler) submit(t task) {
	s.settleReady()
	s.start(t)
}

func (s *scheduler) start(t task) {
	if s.over() {
		s.r.pendingTasks(t)
		return
	}
	s.g.Go(func() error {
		if s.over() { // stopped while this task waited for its worker
			s.r.pendingTasks(t)
			return nil
		}
		err := s.r.group(s.ctx, t)
		s.fail(err)
		return err
	})
}

// idle waits until every submitted task is done.
func (s *scheduler) idle() { _ = s.g.Wait() }

// settleReady settles the parked creates whose lookup window has passed, when enough are ready,
// and starts what they let go on. It runs at most every settleEvery.
func (s *scheduler) settleReady() {
	now := time.Now()
	if now.Sub(s.checked) < settleEvery || s.over() {
		return
	}
	s.checked = now
	r := s.r
	items := r.park.takeReady(r.opts.Clock.Now(), r.lag.get(), s.least)
	if len(items) == 0 {
		return
	}
	next, err := r.settleParked(s.ctx, items)
	if err != nil {
		s.fail(err)
		return
	}
	for _, t := range next {
		s.start(t)
	}
}

// finish waits for the workers, then settles what is parked as each lookup window ends and
// runs what follows, until nothing is left. Creates still parked when the run ends early are
// recorded pending: their intents stay open for the next run.
func (s *scheduler) finish() error {
	r := s.r
	for {
		s.idle()
		if s.over() {
			break
		}
		at, ok := r.park.earliest(r.lag.get())
		if !ok {
			break
		}
		if wait := at.Sub(r.opts.Clock.Now()); wait > 0 {
			r.opts.Log.Debug("waiting for Leaf's list lag before looking up creates whose answer was lost", "wait", wait)
			r.waiting("Leaf's list lag, to look up creates whose answer was lost", wait)
			if err := r.opts.Clock.Sleep(s.ctx, wait); err != nil {
				s.fail(err)
				break
			}
		}
		ready := r.park.takeReady(r.opts.Clock.Now(), r.lag.get(), 1)
		if len(ready) == 0 {
			continue
		}
		next, err := r.settleParked(s.ctx, ready)
		if err != nil {
			s.fail(err)
			break
		}
		for _, t := range next {
			s.start(t)
		}
	}
	s.idle()
	for _, p := range r.park.take() { // left by a fatal error or a cancelled run: in doubt
		r.pendingParked(p)
	}
	err := s.err()
	s.cancel(nil)
	return err
}

// pendingTasks records every change of t pending (the run ended before it).
func (r *runner) pendingTasks(t task) { r.pending(t.changes) }

// appTask is an app change, which runs on its own.
func appTask(c *plan.Change) task { return task{changes: []*plan.Change{c}} }
