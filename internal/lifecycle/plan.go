package lifecycle

import (
	"context"

	"github.com/leaf-import/leaf-import/internal/plan"
)

// Plan computes the plan of the manifest against Leaf as apply would see it: users that recent
// runs created count as existing while Leaf's list lags, and requests earlier runs left in
// doubt are listed. It takes no lock and writes nothing but the account's fingerprint key. The
// plan returned is lazy (plan.Lazy): its counts and its refusals are known once it is counted
// or shown.
func Plan(ctx context.Context, o Options) (*plan.Plan, error) {
	s, err := open(o, false)
	if err != nil {
		return nil, err
	}
	if err := o.Client.Authenticate(ctx); err != nil {
		return nil, err
	}
	h, err := s.history()
	if err != nil {
		return nil, err
	}
	opts := s.diffOptions()
	journaledConfigs(opts.ConfigApplied, inDoubtPriors(h), o.Log) // in memory: plan writes nothing
	snap, reads, err := readState(ctx, o.Client, o.Manifest, h.Created, opts.Selection, o.Log)
	if err != nil {
		return nil, err
	}
	configReads, err := readConfigs(ctx, o.Client, o.Manifest, snap, opts, o.Log)
	if err != nil {
		return nil, err
	}
	// The plan is lazy: its changes are computed as they are shown, never all held.
	p := plan.Lazy(o.Manifest, snap, opts)
	p.Reads = reads + configReads
	p.InDoubt = doubts(h)
	return p, nil
}
