package exec

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/report"
)

// Settler records what a lookup found for an intent in doubt: status is report.OutcomeFound or
// report.OutcomeAbsent. It is called from several goroutines.
type Settler func(in report.Intent, status change.Outcome, leafID string) error

// Resolve settles earlier runs' intents that have no outcome (requests whose fate a crash or a
// kill hid) by looking their objects up in Leaf, never by sending them again, and hands what it
// found to settle (which journals it). It returns the users it found created, by externalId.
//
// Up to concurrency lookups run at once, and they share one lookup window that starts when
// Resolve does: a crash with 32 creates in flight costs one window, not 32 one after another.
// The window cannot start any earlier: an intent is journaled before its request waits on the
// limiter, and the kill may have come just before this run, so the request may have reached
// Leaf only a moment ago.
func Resolve(ctx context.Context, api API, intents []report.Intent, settle Settler, window time.Duration, concurrency int, clock leaf.Clock, log *slog.Logger) (map[string]string, error) {
	if clock == nil {
		clock = leaf.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &runner{api: api, opts: Options{LookupWindow: window, Clock: clock, Log: log}, lag: newLagWindow(window, log)}
	since := clock.Now()
	var mu sync.Mutex
	created := map[string]string{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	for _, in := range intents {
		g.Go(func() error {
			found, id, err := r.lookupIntent(gctx, in, since)
			if err != nil {
				return err
			}
			status := report.OutcomeAbsent
			if found {
				status = report.OutcomeFound
			}
			if in.Kind == change.KindUser && in.Step == report.StepPost && found && id != "" {
				mu.Lock()
				created[in.ExternalID] = id
				mu.Unlock()
			}
			if err := settle(in, status, id); err != nil {
				return err
			}
			log.Debug("resolved an unfinished request of an earlier run by lookup", "change", in.ChangeID,
				"step", in.Step, "found", found)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return created, nil
}

// lookupIntent looks up the object an intent was about; a user is re-checked until the lookup
// window counted from since ends.
func (r *runner) lookupIntent(ctx context.Context, in report.Intent, since time.Time) (bool, string, error) {
	p, _ := leaf.LookupProvider(in.Provider)
	switch in.Kind {
	case change.KindUser:
		if in.Step == report.StepPost {
			users, err := r.lookupUser(ctx, in.ExternalID, since)
			switch {
			case err != nil || len(users) == 0:
				return false, "", err
			case len(users) > 1:
				// Done, but which user is the grower's is for a person: the plan that follows
				// reads them all and names the conflict.
				r.opts.Log.Warn("several Leaf users carry the externalId of a create an earlier run left in doubt",
					"externalId", in.ExternalID, "users", len(users))
				return true, "", nil
			}
			return true, users[0].ID, nil
		}
		u, err := r.api.GetUser(ctx, in.LeafUserID)
		return lookedUp(err, idOf(u))
	case change.KindCredential:
		if p == nil || in.LeafUserID == "" {
			return false, "", nil
		}
		cr, err := r.api.GetCredential(ctx, in.LeafUserID, p)
		id := ""
		if cr != nil {
			id = cr.ID
		}
		return lookedUp(err, id)
	case change.KindAPIKey:
		return r.settleAPIKey(ctx, in)
	case change.KindConfig:
		// Whatever the request did, the plan that follows reads this user's config again: a
		// config write in doubt drops the user's record of applied configs (see the lifecycle's
		// journaledConfigs), so reading it here too would cost a second request. It is settled
		// as not known done.
		return false, "", nil
	case change.KindApp:
		if p == nil {
			return false, "", nil
		}
		_, err := r.api.GetAppKey(ctx, p, in.AppName, in.Env)
		return lookedUp(err, "")
	}
	return false, "", nil
}

func lookedUp(err error, id string) (bool, string, error) {
	switch {
	case err == nil:
		return true, id, nil
	case leaf.IsNotFound(err):
		return false, "", nil
	}
	return false, "", err
}

// Overlay adds to a snapshot the users earlier runs created that a lagging user list does not
// show yet, read by id: an outcome in the journal wins over a list that does not show the
// object. It returns how many it added.
func Overlay(ctx context.Context, api API, snap *leaf.Snapshot, created map[string]string) (int, error) {
	if len(created) == 0 {
		return 0, nil
	}
	have := make(map[string]bool, len(snap.Users))
	for _, u := range snap.Users {
		have[u.ID] = true
	}
	added := 0
	for _, id := range created {
		if have[id] {
			continue
		}
		u, err := api.GetUser(ctx, id)
		if leaf.IsNotFound(err) {
			continue // deleted since
		}
		if err != nil {
			return added, err
		}
		snap.Users = append(snap.Users, *u)
		have[id] = true
		added++
	}
	return added, nil
}

// APIKeys is what settling a link-keys run needs besides API; *leaf.Client implements it.
type APIKeys interface {
	ListAPIKeys(ctx context.Context, leafUserID string) ([]leaf.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) error
}

// settleAPIKey settles an API key create whose key may never have reached the output file: Leaf
// shows a key's value only once, so a key created in doubt is unknown to everyone and is
// revoked (found by the label it was created with). The next link-keys run issues a new one.
func (r *runner) settleAPIKey(ctx context.Context, in report.Intent) (bool, string, error) {
	keys, ok := r.api.(APIKeys)
	if !ok || in.Label == "" {
		return false, "", nil
	}
	list, err := keys.ListAPIKeys(ctx, in.LeafUserID)
	if leaf.IsNotFound(err) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	for _, k := range list {
		if k.Description != in.Label {
			continue
		}
		if k.Valid && k.RevokedAt == "" {
			if err := keys.RevokeAPIKey(ctx, k.ID); err != nil && !leaf.IsNotFound(err) {
				return false, "", err
			}
		}
		return true, k.ID, nil
	}
	return false, "", nil
}
