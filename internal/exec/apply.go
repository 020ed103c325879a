package exec

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// API is what applying a plan needs of Leaf; *leaf.Client implements it.
type API interface {
	ListUsers(ctx context.Context, f leaf.UserFilter) ([]leaf.User, error)
	ReadUsers(ctx context.Context) ([]leaf.User, bool, error)
	GetUser(ctx context.Context, id string) (*leaf.User, error)
	CreateUser(ctx context.Context, f leaf.UserFields) (*leaf.User, error)
	UpdateUser(ctx context.Context, id string, f leaf.UserFields) (*leaf.User, error)
	DeleteUser(ctx context.Context, id string) error
	GetCredential(ctx context.Context, userID string, p *leaf.Provider) (*leaf.Credential, error)
	CreateCredential(ctx context.Context, userID string, p *leaf.Provider, fields leaf.Fields) (*leaf.Credential, error)
	DeleteCredential(ctx context.Context, userID string, p *leaf.Provider) error
	GetAppKey(ctx context.Context, p *leaf.Provider, appName, env string) (*leaf.AppKey, error)
	CreateAppKey(ctx context.Context, p *leaf.Provider, appName, env string, fields leaf.Fields) error
	UpdateAppKey(ctx context.Context, p *leaf.Provider, appName, env string, fields leaf.Fields) error
	DeleteAppKey(ctx context.Context, p *leaf.Provider, appName, env string) error
	UserConfig(ctx context.Context, userID string) (leaf.Config, error)
	SetUserConfig(ctx context.Context, userID string, cfg leaf.Config, exists bool) error
}

// DefaultLookupWindow is how long a user just created may take to appear in lists: the floor of
// the lookup window, which what a run measures only raises (only --lookup-window given on the
// command line may lower it).
const DefaultLookupWindow = 5 * time.Second

// Options configure Apply.
type Options struct {
	// Concurrency is the number of workers (default 8).
	Concurrency int
	// LookupWindow is how long a lookup waits for a user created in doubt to appear before it
	// concludes the create did not happen. The run grows it on the lag it observes.
	LookupWindow time.Duration
	RunID        string
	// Journal receives intents, outcomes and records; nil for none.
	Journal *Journal
	// OnRecord is called once per finished change, from the workers (it must be safe for
	// concurrent use).
	OnRecord func(report.Record)
	// OnStart, when set, is called as a worker starts a change (from the workers).
	OnStart func(c *plan.Change)
	// OnWait, when set, is told when the run waits with nothing else to do, what for and how
	// long (a progress line says it rather than showing a stalled bar).
	OnWait func(what string, d time.Duration)
	// Stop, once closed, stops scheduling: changes in flight finish, the rest are pending.
	// Cancelling ctx instead aborts the requests in flight.
	Stop  <-chan struct{}
	Clock leaf.Clock
	Log   *slog.Logger
	// ListPages is how many pages a read of every user takes (ceil(users/100)), users this
	// run creates included: parked creates are settled by one such read when it costs fewer
	// requests than looking each up (0: always look each up).
	ListPages int
}

// Result is what an apply did.
type Result struct {
	// Records are the changes' records when Options.OnRecord is nil; a caller that takes them
	// through OnRecord keeps them itself (a record is held once, not twice).
	Records []report.Record
	// Lookups counts the requests that looked objects up after an ambiguous or conflicting
	// create (a read of every user page settles many parked creates at once).
	Lookups int64
	// Reposts counts the creates sent again after a lookup proved a lost one absent: re-sent
	// requests that the client's retries do not count.
	Reposts int64
	// Fatal is the error that stopped the run (authentication, journal), nil otherwise.
	Fatal error
	// Interrupted is set when Stop or ctx ended the run early.
	Interrupted bool
	// LookupWindow is the window at the end of the run, grown past any lag it observed;
	// ObservedLag is the longest list lag it observed (0: none).
	LookupWindow, ObservedLag time.Duration
}

// errFatal marks an error that must stop the whole run.
type errFatal struct{ err error }

func (e errFatal) Error() string { return e.err.Error() }
func (e errFatal) Unwrap() error { return e.err }

type runner struct {
	api     API
	opts    Options
	seq     atomic.Int64
	lookups atomic.Int64
	reposts atomic.Int64
	mu      sync.Mutex
	records []report.Record
	stopped atomic.Bool
	park    parking
	lag     *lagWindow
	// listing is the named lock between a read of every user page and the requests that move
	// Leaf's user list under it: user creates and deletes hold it for reading, the read for
	// writing, so that workers pause at their next create while the read runs.
	listing sync.RWMutex
}

// task is a run of one grower's changes in order (or one app change); userID is the grower's
// Leaf user when an earlier part of the grower's changes created it.
type task struct {
	changes []*plan.Change
	userID  string
}

// Apply runs the changes in plan order: apps first, then growers, each grower's changes in
// order on one worker, growers in parallel. Per-change failures are recorded and the run goes
// on; only fatal errors (authentication, the journal) stop it.
//
// changes is iterated once, as workers free up: a lazy plan's changes are computed while the
// run goes, and a change is garbage once applied, so that the run holds no more of the plan
// than its changes in flight.
func Apply(ctx context.Context, changes iter.Seq[*plan.Change], api API, opts Options) *Result {
	if opts.Concurrency < 1 {
		opts.Concurrency = 8
	}
	if opts.LookupWindow <= 0 {
		opts.LookupWindow = DefaultLookupWindow
	}
	if opts.Clock == nil {
		opts.Clock = leaf.SystemClock{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	r := &runner{api: api, opts: opts, lag: newLagWindow(opts.LookupWindow, opts.Log)}
	s := newScheduler(ctx, r)
	appsDone := false
	var grower []*plan.Change
	for c := range changes {
		if c.Kind == plan.KindApp {
			// Plans list apps first, and they run side by side; one listed later runs on its own.
			s.submit(appTask(c))
			continue
		}
		if !appsDone {
			// The apps are done before any grower's credentials need them.
			s.idle()
			appsDone = true
		}
		if len(grower) > 0 && grower[0].ExternalID == c.ExternalID {
			grower = append(grower, c)
			continue
		}
		if len(grower) > 0 {
			s.submit(task{changes: grower})
		}
		grower = []*plan.Change{c}
	}
	if len(grower) > 0 {
		s.submit(task{changes: grower})
	}
	err := s.finish()
	res := &Result{}
	var fe errFatal
	if errors.As(err, &fe) {
		res.Fatal = fe.err
	}
	res.Records = r.records
	res.Lookups = r.lookups.Load()
	res.Reposts = r.reposts.Load()
	res.Interrupted = r.stopped.Load() || ctx.Err() != nil
	res.LookupWindow, res.ObservedLag = r.lag.get(), r.lag.longest()
	return res
}

func (r *runner) isStopped() bool {
	if r.stopped.Load() {
		return true
	}
	select {
	case <-r.opts.Stop:
		r.stopped.Store(true)
		return true
	default:
		return false
	}
}

// pending records changes that the run ended before.
func (r *runner) pending(changes []*plan.Change) {
	for _, c := range changes {
		rec := baseRecord(c, c.LeafUserID)
		rec.Status, rec.ErrorCode = report.StatusPending, report.CodeInterrupted
		r.finish(rec)
	}
}

// group runs one grower's changes in order (or one app change): its user, its config, then its
// credentials. A user that could not be created leaves its config and credentials skipped; a
// config that could not be set leaves its credentials skipped (attaching them starts syncing,
// which must happen under the grower's flags); a stop leaves the rest pending.
func (r *runner) group(ctx context.Context, t task) error {
	changes := t.changes
	userID, configFailed := t.userID, false
	for i, c := range changes {
		if i > 0 && (r.isStopped() || ctx.Err() != nil) {
			r.pending(changes[i:])
			return nil
		}
		if c.Kind == plan.KindCredential || c.Kind == plan.KindConfig {
			id := c.LeafUserID
			if id == "" {
				id = userID
			}
			skip := ""
			switch {
			case id == "":
				skip = "the grower's Leaf user was not created"
			case configFailed && c.Kind == plan.KindCredential && c.Action != plan.ActionDelete:
				skip = "the grower's config was not set: its credentials would start syncing under other flags"
			}
			if skip != "" {
				rec := baseRecord(c, id)
				rec.Status, rec.ErrorCode, rec.Error = report.StatusSkipped, report.CodeDependency, skip
				r.finish(rec)
				continue
			}
			c = withUser(c, id)
		}
		rec, parked, err := r.run(ctx, c)
		if parked != nil {
			// The create's answer was lost: the change and the rest of the grower wait for the
			// lookup, and this worker takes the next grower.
			parked.tail, parked.userID, parked.rec = changes[i+1:], userID, rec
			r.park.add(parked)
			return nil
		}
		r.finish(rec)
		if err != nil {
			r.pending(changes[i+1:])
			return err
		}
		switch {
		case c.Kind == plan.KindUser && rec.Status == report.StatusSucceeded:
			userID = rec.LeafUserID
		case c.Kind == plan.KindConfig && rec.Status != report.StatusSucceeded:
			configFailed = true
		}
	}
	return nil
}

// withUser returns c acting on Leaf user id (the plan's change is not modified).
func withUser(c *plan.Change, id string) *plan.Change {
	cc := *c
	cc.LeafUserID = id
	return &cc
}

func baseRecord(c *plan.Change, userID string) report.Record {
	return report.Record{ChangeID: c.ID, Kind: c.Kind, Action: c.Action, ExternalID: c.ExternalID,
		Provider: c.Provider, AppName: c.AppName, LeafUserID: userID, Source: c.Source.String()}
}

// finish numbers a record, journals it and hands it on.
func (r *runner) finish(rec report.Record) {
	rec.Seq = int(r.seq.Add(1))
	rec.RunID = r.opts.RunID
	if rec.StartedAt.IsZero() {
		rec.StartedAt = r.opts.Clock.Now().UTC()
	}
	if err := r.opts.Journal.Record(rec); err != nil {
		r.opts.Log.Error("cannot write the journal", "err", err)
	}
	if r.opts.OnRecord != nil {
		r.opts.OnRecord(rec)
		return
	}
	r.mu.Lock()
	r.records = append(r.records, rec)
	r.mu.Unlock()
}

// run applies one change and returns its record; the error is fatal for the run. A create
// whose answer was lost comes back parked (its record so far, to be finished when the lookup
// settles it).
func (r *runner) run(ctx context.Context, c *plan.Change) (report.Record, *parkedChange, error) {
	rec := baseRecord(c, c.LeafUserID)
	if r.opts.OnStart != nil {
		r.opts.OnStart(c)
	}
	start := r.opts.Clock.Now()
	rec.StartedAt = start.UTC()
	stats := &leaf.CallStats{}
	sctx := leaf.WithCallStats(ctx, stats)
	res, err := r.step(sctx, c)
	rec.Attempts = stats.Attempts
	rec.HTTPStatus = stats.LastStatus
	if prior, ok := r.park.prior(c.ID); ok { // a create sent again after a lookup
		rec.Attempts += prior.Attempts
		rec.StartedAt, start = prior.StartedAt, prior.StartedAt
	}
	rec.DurationMs = r.opts.Clock.Now().Sub(start).Milliseconds()
	if res.parked {
		return rec, &parkedChange{c: c, phase: res.phase, since: r.opts.Clock.Now(), cause: err}, nil
	}
	if res.leafUserID != "" {
		rec.LeafUserID = res.leafUserID
	}
	rec.ResolvedByLookup = res.resolved
	switch {
	case err == nil && res.code == "":
		rec.Status = report.StatusSucceeded
	case err == nil:
		refused(&rec, res.code, res.msg)
		if res.httpStatus != 0 {
			rec.HTTPStatus = res.httpStatus
		}
	default:
		rec.Status = report.StatusFailed
		rec.ErrorCode = res.code
		if rec.ErrorCode == "" {
			rec.ErrorCode = leaf.ErrorCode(err)
		}
		rec.Error = err.Error()
		if s := leaf.StatusCode(err); s != 0 {
			rec.HTTPStatus = s
		}
	}
	var fe errFatal
	switch {
	case errors.As(err, &fe):
		return rec, nil, fe
	case leaf.IsAuth(err), leaf.IsOutage(err):
		// An outage stops the run: every later change would spend its whole retry budget too.
		return rec, nil, errFatal{err}
	}
	return rec, nil, nil
}

// waiting tells OnWait that the run waits for d.
func (r *runner) waiting(what string, d time.Duration) {
	if r.opts.OnWait != nil {
		r.opts.OnWait(what, d)
	}
}
