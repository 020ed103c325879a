package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
)

// appProviders are the providers whose app keys the state read covers: those the manifest
// registers apps for.
func appProviders(m *plan.Manifest) []*leaf.Provider {
	var ps []*leaf.Provider
	for _, a := range m.Apps {
		if !slices.Contains(ps, a.Provider) {
			ps = append(ps, a.Provider)
		}
	}
	slices.SortFunc(ps, func(a, b *leaf.Provider) int { return strings.Compare(a.Name, b.Name) })
	return ps
}

// readState reads the Leaf state the manifest is compared with, then adds the users that
// earlier runs created and a lagging list does not show yet (read by id): an outcome in the
// account's history wins over a list that does not show the object.
func readState(ctx context.Context, c *leaf.Client, m *plan.Manifest, created map[string]string, log *slog.Logger) (*leaf.Snapshot, error) {
	log.Info("reading Leaf state", "url", c.BaseURL())
	snap, err := c.Snapshot(ctx, appProviders(m))
	if err != nil {
		return nil, fmt.Errorf("reading Leaf state: %w", err)
	}
	log.Info("read Leaf state", "users", len(snap.Users), "requests", snap.Requests)
	n, err := exec.Overlay(ctx, c, snap, created)
	if err != nil {
		return nil, fmt.Errorf("reading users created by an earlier run: %w", err)
	}
	if n > 0 {
		log.Info("counted users created by an earlier run that Leaf does not list yet", "users", n)
	}
	return snap, nil
}

// computePlan diffs the manifest against the state and sets the read cost for the estimate
// (configReads: the users' configs read besides the pages).
func computePlan(m *plan.Manifest, snap *leaf.Snapshot, opts plan.Options, configReads int) *plan.Plan {
	p := plan.Diff(m, snap, opts)
	p.Reads = leaf.ReadRequests(len(snap.Users), len(appProviders(m))) + configReads
	return p
}
