package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
)

// AppProviders are the providers whose app keys the state read covers: those the manifest
// registers apps for.
func AppProviders(m *manifest.Manifest) []*leaf.Provider {
	var ps []*leaf.Provider
	for _, a := range m.Apps {
		if !slices.Contains(ps, a.Provider) {
			ps = append(ps, a.Provider)
		}
	}
	slices.SortFunc(ps, func(a, b *leaf.Provider) int { return strings.Compare(a.Name, b.Name) })
	return ps
}

// onlyLookups is the largest --only selection read user by user (GET /users?externalId=, one
// request each); a larger one reads every page (ceil(users/100) requests) and keeps the
// selected users.
const onlyLookups = 50

// readState reads the Leaf state the manifest is compared with, then adds the users that
// earlier runs created and a lagging list does not show yet (read by id): an outcome in the
// account's history wins over a list that does not show the object. A small --only selection
// reads only its own users. reads is what the read costs when nothing fails, for the estimate.
func readState(ctx context.Context, c *leaf.Client, m *manifest.Manifest, created map[string]string, sel plan.Selection, log *slog.Logger) (snap *leaf.Snapshot, reads int, err error) {
	log.Info("reading Leaf state", "url", c.BaseURL())
	defer progressWhile(ctx, log, c, "still reading Leaf state", 0)()
	apps := AppProviders(sel.Manifest(m))
	if sel.Only != nil && len(sel.Only) <= onlyLookups {
		snap, err = readSelected(ctx, c, sel, apps)
		reads = len(sel.Only) + len(apps)
	} else {
		snap, err = c.Snapshot(ctx, apps)
		if snap != nil {
			reads = leaf.ReadRequests(len(snap.Users), len(apps))
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading Leaf state: %w", err)
	}
	log.Info("read Leaf state", "users", len(snap.Users), "requests", snap.Requests)
	if sel.Only != nil {
		kept := map[string]string{}
		for ext, id := range created {
			if sel.Only[ext] {
				kept[ext] = id
			}
		}
		created = kept
	}
	n, err := exec.Overlay(ctx, c, snap, created)
	if err != nil {
		return nil, 0, fmt.Errorf("reading users created by an earlier run: %w", err)
	}
	if n > 0 {
		log.Info("counted users created by an earlier run that Leaf does not list yet", "users", n)
	}
	return snap, reads, nil
}

// readSelected reads the users of a small --only selection one externalId at a time (in
// parallel, under the client's limiter), and the app keys of apps.
func readSelected(ctx context.Context, c *leaf.Client, sel plan.Selection, apps []*leaf.Provider) (*leaf.Snapshot, error) {
	var stats leaf.CallStats
	ctx = leaf.WithCallStats(ctx, &stats)
	ids := slices.Sorted(maps.Keys(sel.Only))
	found := make([][]leaf.User, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for i, ext := range ids {
		g.Go(func() error {
			users, err := c.ListUsers(gctx, leaf.UserFilter{ExternalID: ext})
			for _, u := range users {
				if u.ExternalID == ext { // the filter is trusted no further than this
					found[i] = append(found[i], u)
				}
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	snap := &leaf.Snapshot{AppKeys: map[string][]leaf.AppKey{}}
	for _, us := range found {
		snap.Users = append(snap.Users, us...)
	}
	for _, p := range apps {
		list, err := c.ListAppKeys(ctx, p)
		if err != nil {
			return nil, err
		}
		snap.AppKeys[p.Name] = list
	}
	snap.Requests = stats.Attempts
	return snap, nil
}
