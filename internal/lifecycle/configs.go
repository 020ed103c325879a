package lifecycle

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// readers bounds the reads one at a time per object (configs, users of a small --only) in
// flight; the client's limiter paces them.
const readers = 8

// readConfigs reads the own configuration of the users the plan needs (plan.ConfigReads) into
// snap.Configs and returns how many it read.
func readConfigs(ctx context.Context, c *leaf.Client, m *plan.Manifest, snap *leaf.Snapshot, opts plan.Options, log *slog.Logger) (int, error) {
	ids := plan.ConfigReads(m, snap, opts)
	if len(ids) == 0 {
		return 0, nil
	}
	log.Info("reading Leaf users' config", "users", len(ids), "refresh", opts.RefreshConfig)
	var err error
	snap.Configs, err = userConfigs(ctx, c, ids)
	return len(ids), err
}

// userConfigs reads the own configuration of each user of ids, one request each, readers at a
// time; a user without one (404) reads as not existing.
func userConfigs(ctx context.Context, c *leaf.Client, ids []string) (map[string]leaf.UserConfig, error) {
	var mu sync.Mutex
	out := make(map[string]leaf.UserConfig, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for _, id := range ids {
		g.Go(func() error {
			cfg, err := c.UserConfig(gctx, id)
			if err != nil && !leaf.IsNotFound(err) {
				return fmt.Errorf("reading the config of Leaf user %s: %w", id, err)
			}
			mu.Lock()
			out[id] = leaf.UserConfig{Exists: err == nil, Config: cfg}
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// appliedConfigs reads the account's record of applied configs (empty without a workspace, or
// when it cannot be read: every config is then read, which costs requests, not correctness).
func (s *session) appliedConfigs() workspace.AppliedConfigs {
	if s.ws == nil {
		return workspace.AppliedConfigs{}
	}
	a, err := s.ws.AppliedConfigs()
	if err != nil {
		s.o.Log.Warn("cannot read the record of applied configs; configs are read from Leaf", "err", err)
		return workspace.AppliedConfigs{}
	}
	return a
}

// configMemory keeps the record of applied configs true across runs. Before the run sends
// anything it forgets the users whose config it will change (a crash then leaves no record
// that could be trusted wrongly); after the run it records what succeeded and what the plan
// read and found already set.
type configMemory struct {
	ws      *workspace.Workspace
	applied workspace.AppliedConfigs
	// want is the digest each config change sets, by change id.
	want map[string]string
	mu   sync.Mutex
	done map[string]string // user id -> digest, from succeeded records
}

// forget starts the memory of a run: the users its config changes touch lose their record, on
// disk, before any request.
func (s *session) forgetConfigs(changes iter.Seq[*plan.Change], applied workspace.AppliedConfigs) (*configMemory, error) {
	cm := &configMemory{ws: s.ws, applied: applied, want: map[string]string{}, done: map[string]string{}}
	dirty := false
	if changes == nil {
		changes = func(func(*plan.Change) bool) {}
	}
	for c := range changes {
		if c.Kind != change.KindConfig || c.Grower == nil {
			continue
		}
		cm.want[c.ID] = c.Grower.Config.Digest()
		if _, ok := applied[c.LeafUserID]; ok && c.LeafUserID != "" {
			delete(applied, c.LeafUserID)
			dirty = true
		}
	}
	if dirty {
		if err := s.ws.SaveAppliedConfigs(applied); err != nil {
			return nil, err
		}
	}
	return cm, nil
}

// record notes a finished change (called from the workers).
func (cm *configMemory) record(r report.Record) {
	if r.Kind != change.KindConfig || r.Status != report.StatusSucceeded || r.LeafUserID == "" {
		return
	}
	if d, ok := cm.want[r.ChangeID]; ok {
		cm.mu.Lock()
		cm.done[r.LeafUserID] = d
		cm.mu.Unlock()
	}
}

// save records the run's configs: those it set and those its plan found set.
func (cm *configMemory) save(verified map[string]string) error {
	if len(cm.done) == 0 && len(verified) == 0 {
		return nil
	}
	for id, d := range verified {
		cm.applied[id] = d
	}
	for id, d := range cm.done {
		cm.applied[id] = d
	}
	return cm.ws.SaveAppliedConfigs(cm.applied)
}
