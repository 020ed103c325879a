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
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// readers bounds the reads one at a time per object (configs, users of a small --only) in
// flight; the client's limiter paces them.
const readers = 8

// readConfigs reads the own configuration of the users the plan needs (plan.ConfigReads) into
// snap.Configs and returns how many it read.
func readConfigs(ctx context.Context, c *leaf.Client, m *manifest.Manifest, snap *leaf.Snapshot, opts plan.Options, log *slog.Logger) (int, error) {
	ids := plan.ConfigReads(m, snap, opts)
	if len(ids) == 0 {
		return 0, nil
	}
	log.Info("reading Leaf users' config", "users", len(ids), "refresh", opts.RefreshConfig)
	defer progressWhile(ctx, log, c, "still reading Leaf users' config", len(ids))()
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

// configMemory keeps the record of applied configs true across runs. The record is written
// at the end of a run; a run that ends early (a crash, a kill) leaves its journal, whose config
// steps carry the digest they write: the next run takes the writes the journal shows done and
// drops the ones in doubt (journaledConfigs), so a crash costs the reads of what was in doubt
// only.
type configMemory struct {
	ws      *workspace.Workspace
	applied workspace.AppliedConfigs
	// want is the digest each config change sets, by change id.
	want map[string]string
	mu   sync.Mutex
	done map[string]string // user id -> digest, from succeeded records
}

// configMemoryFor starts the memory of a run with the digests its config changes set.
func configMemoryFor(ws *workspace.Workspace, changes iter.Seq[*plan.Change], applied workspace.AppliedConfigs) *configMemory {
	cm := &configMemory{ws: ws, applied: applied, want: map[string]string{}, done: map[string]string{}}
	if changes == nil {
		return cm
	}
	for c := range changes {
		if c.Kind == change.KindConfig && c.Grower != nil {
			cm.want[c.ID] = c.Grower.Config.Digest()
		}
	}
	return cm
}

// journaledConfigs brings the record of applied configs up to date with the journals of the
// runs left in doubt, oldest first: a config the journal shows written is recorded, one in doubt
// or failed is dropped (read again by the plan). A run known from its report alone drops the
// configs it records; a damaged journal drops the whole record (its run may have written
// configs it does not show). It reports whether the record changed.
func journaledConfigs(applied workspace.AppliedConfigs, priors []*report.Prior, log *slog.Logger) bool {
	changed := false
	for _, p := range priors {
		switch {
		case p.Damaged:
			if len(applied) > 0 {
				log.Warn("an earlier run's journal is damaged: every config is read from Leaf again", "records", len(applied))
				clear(applied)
				changed = true
			}
		case !p.FromJournal:
			for _, r := range p.Records {
				if _, ok := applied[r.LeafUserID]; ok && r.Kind == change.KindConfig {
					delete(applied, r.LeafUserID)
					changed = true
				}
			}
		}
		for id, d := range p.Configs {
			old, had := applied[id]
			switch {
			case d == "" && had:
				delete(applied, id)
				changed = true
			case d != "" && (!had || old != d):
				applied[id] = d
				changed = true
			}
		}
	}
	return changed
}

// record notes a finished change (called from the workers): a config set, or a config write
// that failed, which Leaf may have applied in part (its record is dropped: the next plan reads).
func (cm *configMemory) record(r report.Record) {
	if r.Kind != change.KindConfig || r.LeafUserID == "" {
		return
	}
	d, ok := cm.want[r.ChangeID]
	switch {
	case !ok:
		return
	case r.Status == report.StatusFailed:
		d = ""
	case r.Status != report.StatusSucceeded:
		return
	}
	cm.mu.Lock()
	cm.done[r.LeafUserID] = d
	cm.mu.Unlock()
}

// save records the run's configs: those it set and those its plan found set; a failed write
// drops its user's record.
func (cm *configMemory) save(verified map[string]string) error {
	if len(cm.done) == 0 && len(verified) == 0 {
		return nil
	}
	for id, d := range verified {
		cm.applied[id] = d
	}
	for id, d := range cm.done {
		if d == "" {
			delete(cm.applied, id)
		} else {
			cm.applied[id] = d
		}
	}
	return cm.ws.SaveAppliedConfigs(cm.applied)
}
