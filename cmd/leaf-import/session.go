package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/spf13/pflag"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
)

// DiffFlags are the flags plan and apply share.
type DiffFlags struct {
	Rate               float64
	Prune              bool
	AdoptByEmail       bool
	ReplaceCredentials bool
	UpdateApps         bool
	MaxChanges         int
	MaxDeletes         string
}

func (d *DiffFlags) register(fs *pflag.FlagSet) {
	fs.Float64Var(&d.Rate, "rate", 10, "requests per second to Leaf, every request included (0 = unlimited, for the sandbox)")
	fs.BoolVar(&d.Prune, "prune", false, "delete Leaf users, credentials and apps that the manifest does not name")
	fs.BoolVar(&d.AdoptByEmail, "adopt-by-email", false, "a grower without a Leaf user of its externalId adopts the only Leaf user (without externalId) of its email")
	fs.BoolVar(&d.ReplaceCredentials, "replace-credentials", false, "replace every credential the manifest names (Leaf cannot show some secrets to compare)")
	fs.BoolVar(&d.UpdateApps, "update-apps", false, "re-send every app registration the manifest names (Leaf returns no app secrets to compare)")
	fs.IntVar(&d.MaxChanges, "max-changes", -1, "refuse a plan with more than N changes (-1: no limit)")
	fs.StringVar(&d.MaxDeletes, "max-deletes", "", "refuse a plan with more than N deletes, or P% of the managed objects (default 10% with --prune)")
}

// check validates the flag values.
func (d *DiffFlags) check() error {
	if d.Rate < 0 {
		return withCode(exitError, fmt.Errorf("--rate must be 0 (unlimited) or more, not %v", d.Rate))
	}
	_, err := d.valves()
	return err
}

func (d *DiffFlags) options(fp *plan.Fingerprinter) plan.Options {
	return plan.Options{Prune: d.Prune, AdoptByEmail: d.AdoptByEmail, ReplaceCredentials: d.ReplaceCredentials,
		UpdateApps: d.UpdateApps, Fingerprints: fp}
}

func (d *DiffFlags) valves() (plan.Valves, error) {
	v := plan.Valves{MaxChanges: d.MaxChanges}
	switch {
	case d.MaxDeletes != "":
		l, err := plan.ParseLimit(d.MaxDeletes)
		if err != nil {
			return v, withCode(exitError, fmt.Errorf("--max-deletes: %w", err))
		}
		v.MaxDeletes = &l
	case d.Prune:
		l := plan.DefaultMaxDeletes
		v.MaxDeletes = &l
	}
	return v, nil
}

// testClientOptions are appended to every client's options by tests (a fast backoff, say).
var testClientOptions []leaf.Option

// newClient builds the Leaf client from the environment, paced at rate.
func newClient(f *Factory, rate float64, concurrency int, log *slog.Logger) (*leaf.Client, error) {
	opts := append(leaf.EnvOptions(f.Getenv),
		leaf.WithPacer(leaf.NewPacer(rate, 2, nil)),
		leaf.WithConcurrency(concurrency),
		leaf.WithUserAgent("leaf-import/"+version),
		leaf.WithLogger(log))
	opts = append(opts, testClientOptions...)
	c, err := leaf.NewClient(opts...)
	if err != nil {
		return nil, withCode(exitError, err)
	}
	return c, nil
}

// appProviders are the providers whose app keys the state read covers: those the manifest
// registers apps for.
func appProviders(m *plan.Manifest) []*leaf.Provider {
	var ps []*leaf.Provider
	for _, a := range m.Apps {
		if !slices.Contains(ps, a.Provider) {
			ps = append(ps, a.Provider)
		}
	}
	slices.SortFunc(ps, func(a, b *leaf.Provider) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return ps
}

// readState authenticates and reads the Leaf state the manifest is compared with.
func readState(ctx context.Context, c *leaf.Client, m *plan.Manifest, log *slog.Logger) (*leaf.Snapshot, error) {
	if err := c.Authenticate(ctx); err != nil {
		return nil, err
	}
	log.Info("reading Leaf state", "url", c.BaseURL(), "account", c.Account())
	snap, err := c.Snapshot(ctx, appProviders(m))
	if err != nil {
		return nil, fmt.Errorf("reading Leaf state: %w", err)
	}
	log.Info("read Leaf state", "users", len(snap.Users), "requests", snap.Requests)
	return snap, nil
}

// reportProblems prints manifest problems on w and returns the error that ends the command.
func reportProblems(w io.Writer, name string, err error) error {
	var problems plan.Problems
	if !errors.As(err, &problems) {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(w, p.String())
	}
	return withCode(exitError, fmt.Errorf("%s has %d problem(s); nothing was sent to Leaf", name, len(problems)))
}

// computePlan diffs the manifest against the state and sets the read cost for the estimate.
func computePlan(m *plan.Manifest, snap *leaf.Snapshot, opts plan.Options) *plan.Plan {
	p := plan.Diff(m, snap, opts)
	p.Reads = leaf.ReadRequests(len(snap.Users), len(appProviders(m)))
	return p
}
