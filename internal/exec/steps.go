package exec

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// stepResult is what running a change produced besides an error.
type stepResult struct {
	leafUserID string
	// resolved: the create's answer was lost and a lookup found the object.
	resolved bool
	// code and msg describe a failure that is not an API error (report.CodeNotCreated, ...).
	code, msg string
	// httpStatus is the status of the request that failed, when a lookup followed it.
	httpStatus int
	// parked: the create's answer was lost and it waits for a batch lookup (phase is its
	// journal phase).
	parked bool
	phase  int
}

func (r *runner) step(ctx context.Context, c *plan.Change) (stepResult, error) {
	switch c.Kind {
	case plan.KindUser:
		switch c.Action {
		case plan.ActionCreate:
			return r.createUser(ctx, c)
		case plan.ActionUpdate:
			_, err := r.send(ctx, c, report.StepPatch, 0, func() (string, error) {
				u, err := r.api.UpdateUser(ctx, c.LeafUserID, userFields(c))
				return idOf(u), err
			})
			return stepResult{leafUserID: c.LeafUserID}, err
		case plan.ActionDelete:
			_, err := r.send(ctx, c, report.StepDelete, 0, func() (string, error) {
				r.listing.RLock()
				defer r.listing.RUnlock()
				return "", gone(r.api.DeleteUser(ctx, c.LeafUserID))
			})
			return stepResult{leafUserID: c.LeafUserID}, err
		}
	case plan.KindCredential:
		p, _ := leaf.LookupProvider(c.Provider)
		switch c.Action {
		case plan.ActionCreate:
			return r.createCredential(ctx, c, p, 0)
		case plan.ActionReplace:
			// A replace is journaled as one change in two phases: if it is cut between them, the
			// resume finds the credential absent and posts it.
			if _, err := r.deleteCredential(ctx, c, p, 1); err != nil {
				return stepResult{leafUserID: c.LeafUserID}, err
			}
			return r.createCredential(ctx, c, p, 2)
		case plan.ActionDelete:
			return r.deleteCredential(ctx, c, p, 0)
		}
	case plan.KindConfig:
		return r.setConfig(ctx, c)
	case plan.KindApp:
		p, _ := leaf.LookupProvider(c.Provider)
		switch c.Action {
		case plan.ActionCreate:
			return r.createApp(ctx, c, p)
		case plan.ActionUpdate:
			_, err := r.send(ctx, c, report.StepPut, 0, func() (string, error) {
				return "", r.api.UpdateAppKey(ctx, p, c.AppName, c.Environment, c.App.Fields)
			})
			return stepResult{}, err
		case plan.ActionDelete:
			_, err := r.send(ctx, c, report.StepDelete, 0, func() (string, error) {
				return "", gone(r.api.DeleteAppKey(ctx, p, c.AppName, c.Environment))
			})
			return stepResult{}, err
		}
	}
	return stepResult{}, fmt.Errorf("exec: no step for %s %s", c.Action, c.Kind)
}

// gone treats a 404 on DELETE as done: the object is not there, as wanted.
func gone(err error) error {
	if leaf.IsNotFound(err) {
		return nil
	}
	return err
}

func idOf(u *leaf.User) string {
	if u == nil {
		return ""
	}
	return u.ID
}

// inDoubt reports whether a request's effect is unknown: its answer was lost, or it was
// cancelled after it may have left.
func inDoubt(err error) bool {
	return leaf.IsAmbiguous(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// send sends one step of a plan's change (see Send); a journal that cannot be written is fatal
// for the run.
func (r *runner) send(ctx context.Context, c *plan.Change, step change.Step, phase int, do func() (string, error)) (string, error) {
	id, err := Send(ctx, r.opts.Journal, Mutation{Change: c, Step: step, Phase: phase, UserID: c.LeafUserID},
		func(context.Context) (string, error) { return do() })
	if IsJournal(err) {
		return id, errFatal{err}
	}
	return id, err
}

// settle journals what a lookup found for a step whose answer was lost.
func (r *runner) settle(c *plan.Change, step change.Step, phase int, found bool, leafID string) error {
	status := report.OutcomeAbsent
	if found {
		status = report.OutcomeFound
	}
	if err := r.opts.Journal.Outcome(c, step, phase, c.LeafUserID, status, leafID, 0, "lookup"); err != nil {
		return errFatal{err}
	}
	return nil
}

// userFields are the fields a user change sends: every managed field on create; on update the
// changed ones (and externalId when adopting).
func userFields(c *plan.Change) leaf.UserFields {
	g := c.Grower
	var f leaf.UserFields
	set := func(name string, v string, dst **string) {
		if v == "" {
			return
		}
		if c.Action != plan.ActionCreate {
			changed := false
			for _, fc := range c.Fields {
				changed = changed || fc.Name == name
			}
			if !changed {
				return
			}
		}
		val := v
		*dst = &val
	}
	set("name", g.Name, &f.Name)
	set("email", g.Email, &f.Email)
	set("phone", g.Phone, &f.Phone)
	set("address", g.Address, &f.Address)
	set("externalId", g.ExternalID, &f.ExternalID)
	if c.Action == plan.ActionCreate {
		ext := g.ExternalID
		f.ExternalID = &ext
	}
	return f
}

// found is what a lookup after a lost answer (or a 409) found.
type found struct {
	ok bool   // the object is there
	id string // its id when known
	// code and msg refuse the object found (another user's, several of them).
	code, msg string
}

// create posts an object. If the answer is lost, a user or credential create is parked: the
// worker goes on, and the create is settled with the others by a lookup once the lookup window
// has passed (see settleParked). An app create whose answer is lost, or any create that meets a
// 409, is looked up at once: found, the change is done; proven absent, the post goes out again.
// An object is never created twice: a post is repeated only after a lookup shows the previous
// one created nothing, and at most maxPosts times in a run.
func (r *runner) create(ctx context.Context, c *plan.Change, phase int, post func() (string, error), find func() (found, error)) (stepResult, error) {
	res := stepResult{leafUserID: c.LeafUserID, phase: phase}
	for n := r.park.sent(c.ID) + 1; ; n++ {
		id, err := r.send(ctx, c, report.StepPost, phase, post)
		if err == nil || !(leaf.IsAmbiguous(err) || leaf.IsConflict(err)) {
			if c.Kind == plan.KindUser {
				res.leafUserID = id
			}
			return res, err
		}
		if leaf.IsAmbiguous(err) && canPark(c) && ctx.Err() == nil {
			r.park.setSent(c.ID, n) // only a parked change is counted across its posts
			res.parked = true
			return res, err
		}
		r.lookups.Add(1)
		f, lerr := find()
		if lerr != nil {
			return res, lerr
		}
		if err := r.settle(c, report.StepPost, phase, f.ok, f.id); err != nil {
			return res, err
		}
		switch {
		case f.ok && f.code != "":
			res.code, res.msg = f.code, f.msg
			return res, nil
		case f.ok:
			if c.Kind == plan.KindUser {
				res.leafUserID = f.id
			}
			res.resolved = true
			r.opts.Log.Debug("a create whose answer was lost was found by lookup", "change", c.ID)
			return res, nil
		case n >= maxPosts || leaf.IsConflict(err) || ctx.Err() != nil:
			res.code, res.httpStatus = report.CodeNotCreated, leaf.StatusCode(err)
			res.msg = "a lookup did not find the object after " + err.Error() + "; the next run creates it"
			return res, nil
		}
		r.opts.Log.Debug("a lookup proved a create did not happen; sending it again", "change", c.ID)
	}
}

// createUser posts the user; a lost answer is settled by looking the user up by externalId,
// re-checking for the lookup window, since a new user can take a moment to appear in lists.
// Two users found is a conflict, never a success: the grower is reported with both ids.
func (r *runner) createUser(ctx context.Context, c *plan.Change) (stepResult, error) {
	return r.create(ctx, c, 0, func() (string, error) {
		r.listing.RLock()
		u, err := r.api.CreateUser(ctx, userFields(c))
		r.listing.RUnlock()
		if err == nil {
			r.lag.created(idOf(u), c.ExternalID, r.opts.Clock.Now())
		}
		return idOf(u), err
	}, func() (found, error) {
		users, err := r.lookupUser(ctx, c.ExternalID, r.opts.Clock.Now())
		if err != nil {
			return found{}, err
		}
		ptrs := make([]*leaf.User, len(users))
		for i := range users {
			ptrs[i] = &users[i]
		}
		return userFound(ptrs), nil
	})
}

// lookupUser lists the users with an externalId, re-checking until one appears or the lookup
// window counted from since ends (for a create just answered ambiguously, now). A user found
// after a miss tells the list's lag: at least the time from since to the miss, and the run's
// window grows past it.
func (r *runner) lookupUser(ctx context.Context, ext string, since time.Time) ([]leaf.User, error) {
	var missed time.Time
	for {
		at := r.opts.Clock.Now()
		users, err := r.api.ListUsers(ctx, leaf.UserFilter{ExternalID: ext})
		if err != nil {
			return nil, err
		}
		var exact []leaf.User
		for _, u := range users {
			if u.ExternalID == ext {
				exact = append(exact, u)
			}
		}
		if len(exact) > 0 {
			if !missed.IsZero() {
				r.lag.observe(missed.Sub(since), "a lookup found a user an earlier lookup missed")
			}
			return exact, nil
		}
		missed = at
		left := since.Add(r.lag.get()).Sub(r.opts.Clock.Now())
		if left <= 0 {
			return nil, nil
		}
		if err := r.opts.Clock.Sleep(ctx, min(left, 500*time.Millisecond)); err != nil {
			return nil, err
		}
	}
}

// createCredential posts a credential; a lost answer or a 409 is settled by reading the
// credential back.
func (r *runner) createCredential(ctx context.Context, c *plan.Change, p *leaf.Provider, phase int) (stepResult, error) {
	return r.create(ctx, c, phase, func() (string, error) {
		cr, err := r.api.CreateCredential(ctx, c.LeafUserID, p, c.Connection.Fields)
		if cr != nil {
			return cr.ID, err
		}
		return "", err
	}, func() (found, error) {
		cur, err := r.api.GetCredential(ctx, c.LeafUserID, p)
		switch {
		case leaf.IsNotFound(err):
			return found{}, nil
		case err != nil:
			return found{}, err
		case !sameCredential(c.Connection, cur):
			return found{ok: true, id: cur.ID, code: report.CodeExistsDifferent,
				msg: "Leaf holds another " + p.Name + " credential for this user"}, nil
		}
		return found{ok: true, id: cur.ID}, nil
	})
}

// sameCredential reports whether the credential Leaf holds is the one the manifest describes, by
// the fields a plan compares.
func sameCredential(conn *manifest.Connection, cur *leaf.Credential) bool {
	for _, f := range conn.Provider.ComparedFields() {
		want, ok := conn.Fields.Get(f)
		have, returned := cur.Fields.Get(f)
		if ok && returned && want != have && !want.IsKept() {
			return false
		}
	}
	return true
}

func (r *runner) deleteCredential(ctx context.Context, c *plan.Change, p *leaf.Provider, phase int) (stepResult, error) {
	_, err := r.send(ctx, c, report.StepDelete, phase, func() (string, error) {
		return "", gone(r.api.DeleteCredential(ctx, c.LeafUserID, p))
	})
	return stepResult{leafUserID: c.LeafUserID}, err
}

// createApp posts an app registration; a lost answer or a 409 is settled by reading it.
func (r *runner) createApp(ctx context.Context, c *plan.Change, p *leaf.Provider) (stepResult, error) {
	return r.create(ctx, c, 0, func() (string, error) {
		return "", r.api.CreateAppKey(ctx, p, c.AppName, c.Environment, c.App.Fields)
	}, func() (found, error) {
		_, err := r.api.GetAppKey(ctx, p, c.AppName, c.Environment)
		if leaf.IsNotFound(err) {
			return found{}, nil
		}
		return found{ok: err == nil}, err
	})
}

// setConfig sets the grower's config flags on its Leaf user: POST when the plan found none,
// PATCH otherwise. Setting flags is idempotent, so an answer lost is settled by reading the
// config back: it holds the flags, done; it does not, the flags are sent again (at most
// maxCreates times in all).
func (r *runner) setConfig(ctx context.Context, c *plan.Change) (stepResult, error) {
	res := stepResult{leafUserID: c.LeafUserID}
	step := report.StepPatch
	if c.Action == plan.ActionCreate {
		step = report.StepPost
	}
	for n := 1; ; n++ {
		_, err := r.send(ctx, c, step, 0, func() (string, error) {
			return "", r.api.SetUserConfig(ctx, c.LeafUserID, c.Grower.Config, c.Action != plan.ActionCreate)
		})
		if err == nil || !leaf.IsAmbiguous(err) {
			return res, err
		}
		r.lookups.Add(1)
		cur, lerr := r.api.UserConfig(ctx, c.LeafUserID)
		if lerr != nil && !leaf.IsNotFound(lerr) {
			return res, lerr
		}
		holds := lerr == nil && ConfigHolds(cur, c.Grower.Config)
		if err := r.settle(c, step, 0, holds, ""); err != nil {
			return res, err
		}
		if holds {
			res.resolved = true
			return res, nil
		}
		if n == maxPosts || ctx.Err() != nil {
			return res, err
		}
	}
}

// ConfigHolds reports whether a user's config holds every flag of want with its value.
func ConfigHolds(have, want leaf.Config) bool {
	for _, v := range want {
		if got, ok := have.Get(v.Name); !ok || got != v.Value {
			return false
		}
	}
	return true
}
