package exec

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// maxPosts bounds how often one change posts its object in a run. A post is repeated only
// after a lookup proved the previous one created nothing, so this bounds time, not safety: at
// a 7% rate of lost answers, eight in a row happen to one change in a billion.
const maxPosts = 8

// parkedChange is a user or credential create whose answer was lost. It waits, with the rest
// of its grower's changes, for a lookup after the lookup window; its worker goes on meanwhile.
type parkedChange struct {
	c     *plan.Change // as it ran (with its Leaf user id for a credential)
	phase int          // the journal phase of the post (2 for a replace's post)
	since time.Time    // when the answer was lost
	cause error
	// tail is what follows c in its grower's changes; userID the grower's Leaf user so far.
	tail   []*plan.Change
	userID string
	// rec is the change's record so far (attempts, start).
	rec report.Record
}

// parking holds the parked creates and what a change spent before it was parked.
type parking struct {
	mu     sync.Mutex
	items  []*parkedChange
	priors map[string]report.Record // by change id, for a create sent again
	posts  map[string]int           // posts sent per parked change id
}

func (p *parking) add(cs ...*parkedChange) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items = append(p.items, cs...)
}

func (p *parking) take() []*parkedChange {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.items
	p.items = nil
	return out
}

// prior returns (and forgets) what a change spent before it was parked and sent again.
func (p *parking) prior(id string) (report.Record, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, ok := p.priors[id]
	delete(p.priors, id)
	return rec, ok
}

func (p *parking) setPrior(rec report.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.priors == nil {
		p.priors = map[string]report.Record{}
	}
	p.priors[rec.ChangeID] = rec
}

// sent is how many posts change id has sent in this run.
func (p *parking) sent(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.posts[id]
}

// setSent records that change id has sent n posts in this run.
func (p *parking) setSent(id string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.posts == nil {
		p.posts = map[string]int{}
	}
	p.posts[id] = n
}

// earliest returns when the first parked create's window (counted from its lost answer) ends;
// false when nothing is parked.
func (p *parking) earliest(window time.Duration) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t time.Time
	for _, it := range p.items {
		if end := it.since.Add(window); t.IsZero() || end.Before(t) {
			t = end
		}
	}
	return t, !t.IsZero()
}

// takeReady takes the parked creates whose lookup window has passed at now, when there are at
// least min of them.
func (p *parking) takeReady(now time.Time, window time.Duration, least int) []*parkedChange {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ready, rest []*parkedChange
	for _, it := range p.items {
		if now.Sub(it.since) >= window {
			ready = append(ready, it)
		} else {
			rest = append(rest, it)
		}
	}
	if len(ready) == 0 || len(ready) < least {
		return nil
	}
	p.items = rest
	return ready
}

// canPark reports whether a lost create of c waits for a batch lookup: users and credentials
// (a user is found by externalId, a credential by its user's embedded credentials). Apps are
// few and are looked up at once.
func canPark(c *plan.Change) bool {
	return c.Kind == plan.KindUser || c.Kind == plan.KindCredential
}

// lookupParked looks the parked creates up once their lookup window has passed. It returns
// those it settles now with what it found; those the lookups did not find while Leaf's lists
// lag more than the window are parked again, under the grown window.
func (r *runner) lookupParked(ctx context.Context, items []*parkedChange) ([]*parkedChange, []found, error) {
	latest := items[0].since
	for _, it := range items {
		if it.since.After(latest) {
			latest = it.since
		}
	}
	if wait := latest.Add(r.lag.get()).Sub(r.opts.Clock.Now()); wait > 0 {
		r.opts.Log.Debug("waiting for the lookup window of parked creates", "creates", len(items), "wait", wait)
		r.waiting("Leaf's list lag, to look up creates whose answer was lost", wait)
		if err := r.opts.Clock.Sleep(ctx, wait); err != nil {
			r.park.add(items...)
			return nil, nil, err
		}
	}
	results, err := r.findParked(ctx, items)
	if err != nil {
		r.park.add(items...)
		// A lookup that failed after its retries leaves the creates in doubt: the run stops
		// rather than guess, and the next run settles them from the journal.
		return nil, nil, errFatal{fmt.Errorf("looking up creates whose answer was lost: %w", err)}
	}
	if early, err := r.windowTooShort(ctx, items, results); err != nil || early {
		// Leaf's lists lag more than the window: what the lookups did not find may yet
		// appear. Those creates wait again, under the grown window; the rest settle now.
		var keep []*parkedChange
		var keptFound []found
		for i, it := range items {
			if results[i].ok {
				keep, keptFound = append(keep, it), append(keptFound, results[i])
			} else {
				r.park.add(it)
			}
		}
		if err != nil {
			for _, it := range keep {
				r.park.add(it)
			}
			return nil, nil, errFatal{fmt.Errorf("looking up creates whose answer was lost: %w", err)}
		}
		items, results = keep, keptFound
	}
	return items, results, nil
}

// settleParked looks the parked creates up once their lookup window has passed, journals what
// it found, finishes their records and returns what runs next: the rest of each grower, or the
// create again where the lookup proved it absent.
func (r *runner) settleParked(ctx context.Context, items []*parkedChange) ([]task, error) {
	items, results, err := r.lookupParked(ctx, items)
	if err != nil {
		return nil, err
	}
	stopped := r.isStopped()
	var next []task
	for i, it := range items {
		f := results[i]
		if err := r.settle(it.c, report.StepPost, it.phase, f.ok, f.id); err != nil {
			return nil, err
		}
		rec := it.rec
		rec.DurationMs = r.opts.Clock.Now().Sub(rec.StartedAt).Milliseconds()
		userID := it.userID
		switch {
		case f.ok && f.code != "":
			refused(&rec, f.code, f.msg)
		case f.ok:
			rec.Status, rec.ResolvedByLookup = report.StatusSucceeded, true
			if it.c.Kind == plan.KindUser {
				rec.LeafUserID, userID = f.id, f.id
			}
		case stopped:
			rec.Status, rec.ErrorCode = report.StatusPending, report.CodeInterrupted
			rec.Error = "a lookup found the create did not happen; the run was stopped before sending it again"
		case r.park.sent(it.c.ID) >= maxPosts:
			rec.Status, rec.ErrorCode = report.StatusFailed, report.CodeNotCreated
			rec.Error = "a lookup did not find the object after " + it.cause.Error() + "; the next run creates it"
			rec.HTTPStatus = leaf.StatusCode(it.cause)
		default:
			// Proven absent: post it again, with the rest of its grower after it.
			r.park.setPrior(rec)
			r.reposts.Add(1)
			next = append(next, task{changes: append([]*plan.Change{it.c}, it.tail...), userID: userID})
			continue
		}
		r.finish(rec)
		switch {
		case stopped:
			r.pending(it.tail)
		case len(it.tail) > 0:
			next = append(next, task{changes: it.tail, userID: userID})
		}
	}
	return next, nil
}

// windowTooShort checks, before creates that lookups did not find are taken as not done, that
// Leaf's lists show a user this run created (and was answered for) no later than the earliest of
// them: the canary. If they do not, the lag of the moment is longer than the window, which grows
// past it, and the creates must wait again. It costs one lookup per settle, only when a create
// was not found.
func (r *runner) windowTooShort(ctx context.Context, items []*parkedChange, results []found) (bool, error) {
	var earliest time.Time
	for i, it := range items {
		if !results[i].ok && it.c.Kind == plan.KindUser && (earliest.IsZero() || it.since.Before(earliest)) {
			earliest = it.since
		}
	}
	if earliest.IsZero() {
		return false, nil
	}
	c, ok := r.lag.canary(earliest)
	if !ok {
		return false, nil
	}
	if r.lag.get() >= MaxLookupWindow {
		return false, fmt.Errorf("the user list of Leaf still does not show a user created %s ago: it is stuck, not lagging",
			r.opts.Clock.Now().Sub(c.at).Round(time.Second))
	}
	r.lookups.Add(1)
	users, err := r.api.ListUsers(ctx, leaf.UserFilter{ExternalID: c.externalID})
	if err != nil {
		return false, err
	}
	for _, u := range exactly(users, c.externalID) {
		if u.ID == c.id {
			return false, nil
		}
	}
	r.lag.observe(r.opts.Clock.Now().Sub(c.at), "a user this run created is not in Leaf's list yet")
	return true, nil
}

// findParked looks every parked create up: with one read of every user page (credentials
// come embedded) when that costs fewer requests than a lookup each, else one lookup each. A read
// that saw the account move under it (the run's own creates appearing as Leaf's lists catch up)
// still proves what it shows; what it does not show is looked up one by one.
func (r *runner) findParked(ctx context.Context, items []*parkedChange) ([]found, error) {
	out := make([]found, len(items))
	stats := &leaf.CallStats{}
	ctx = leaf.WithCallStats(ctx, stats)
	batch := r.opts.ListPages > 0 && r.opts.ListPages < len(items)
	defer func() {
		least := len(items) // a lookup each, or one read (of at least one page)
		if batch {
			least = 1
		}
		r.lookups.Add(int64(max(stats.Attempts, least)))
	}()
	each := make([]int, 0, len(items))
	if batch {
		var err error
		if each, err = r.readParked(ctx, items, out); err != nil {
			return nil, err
		}
	} else {
		for i := range items {
			each = append(each, i)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	for _, i := range each {
		it := items[i]
		g.Go(func() error {
			var err error
			switch it.c.Kind {
			case plan.KindUser:
				var users []leaf.User
				users, err = r.api.ListUsers(gctx, leaf.UserFilter{ExternalID: it.c.ExternalID})
				out[i] = userFound(exactly(users, it.c.ExternalID))
			case plan.KindCredential:
				out[i], err = r.findCredential(gctx, it.c)
			}
			return err
		})
	}
	return out, g.Wait()
}

// readParked settles parked creates with one read of every user page and returns the indexes of
// the items it could not settle (the read was not complete and did not show them).
//
// A read of every page is complete only while no user is being created or deleted (Leaf
// restarts the count under it, and pages may shift): it holds the named lock runner.listing for
// writing, so that workers pause at their next user create or delete for its length. At the
// rate limit this costs no time, since the pages use the same budget.
func (r *runner) readParked(ctx context.Context, items []*parkedChange, out []found) ([]int, error) {
	r.listing.Lock()
	readStart := r.opts.Clock.Now()
	all, complete, err := r.api.ReadUsers(ctx)
	r.listing.Unlock()
	if err != nil {
		return nil, err
	}
	byExt := map[string][]*leaf.User{}
	byID := map[string]*leaf.User{}
	for i := range all {
		u := &all[i]
		byExt[u.ExternalID] = append(byExt[u.ExternalID], u)
		byID[u.ID] = u
	}
	if complete {
		r.lag.checkRead(readStart, func(id string) bool { return byID[id] != nil })
	} else {
		r.opts.Log.Debug("the user list moved while it was read: looking up one by one what the read did not show")
	}
	var rest []int
	for i, it := range items {
		switch it.c.Kind {
		case plan.KindUser:
			if us := byExt[it.c.ExternalID]; len(us) > 0 || complete {
				out[i] = userFound(us)
				continue
			}
		case plan.KindCredential:
			if u := byID[it.c.LeafUserID]; u != nil {
				out[i] = credentialFound(it.c, u.Credential(it.c.Connection.Provider))
				continue
			}
		}
		rest = append(rest, i)
	}
	return rest, nil
}

// exactly returns the users whose externalId is ext exactly (a filter may match loosely).
func exactly(users []leaf.User, ext string) []*leaf.User {
	var out []*leaf.User
	for i := range users {
		if users[i].ExternalID == ext {
			out = append(out, &users[i])
		}
	}
	return out
}

// refused ends the record of a create whose lookup found an object that is not simply ours:
// several users with its externalId are a conflict for a person (a skipped record that the run's
// exit code reports as needing a person), another credential a failure.
func refused(rec *report.Record, code, msg string) {
	rec.Status, rec.ErrorCode, rec.Error = report.StatusFailed, code, msg
	if code == report.CodeConflict {
		rec.Status, rec.Action = report.StatusSkipped, change.ActionConflict
	}
}

// userFound is what a lookup of a user create found among the users carrying its externalId.
func userFound(users []*leaf.User) found {
	switch len(users) {
	case 0:
		return found{}
	case 1:
		return found{ok: true, id: users[0].ID}
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return found{ok: true, code: report.CodeConflict,
		msg: fmt.Sprintf("%d Leaf users now carry this externalId (ids %s): a person must merge them", len(users), strings.Join(ids, ", "))}
}

// credentialFound is what a lookup of a credential create found.
func credentialFound(c *plan.Change, cur *leaf.Credential) found {
	switch {
	case cur == nil:
		return found{}
	case !sameCredential(c.Connection, cur):
		return found{ok: true, id: cur.ID, code: report.CodeExistsDifferent,
			msg: "Leaf holds another " + c.Connection.Provider.Name + " credential for this user"}
	}
	return found{ok: true, id: cur.ID}
}

func (r *runner) findCredential(ctx context.Context, c *plan.Change) (found, error) {
	cur, err := r.api.GetCredential(ctx, c.LeafUserID, c.Connection.Provider)
	switch {
	case leaf.IsNotFound(err):
		return found{}, nil
	case err != nil:
		return found{}, err
	}
	return credentialFound(c, cur), nil
}

// pendingParked records a parked create that was never settled (a fatal error, a cancelled
// run): its intent stays open in the journal for the next run to settle.
func (r *runner) pendingParked(p *parkedChange) {
	rec := p.rec
	rec.Status, rec.ErrorCode = report.StatusPending, report.CodeInterrupted
	rec.Error = "its answer was lost and the run ended before a lookup; the next run settles it"
	r.finish(rec)
	r.pending(p.tail)
}
