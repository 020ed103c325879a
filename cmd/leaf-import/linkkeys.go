package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/metrics"
)

// LinkKeysOptions are the options of `leaf-import link-keys`.
type LinkKeysOptions struct {
	IO            *IOStreams
	Factory       *Factory
	Manifest      string
	Out           string
	For           lifecycle.KeysFor
	ExpiresIn     time.Duration
	Rotate        bool
	RevokeExpired bool
	Rate          rateFlag
	LookupWindow  time.Duration
	KeepRuns      int
	Metrics       metricsFlags
}

// NewCmdLinkKeys builds `leaf-import link-keys`.
func NewCmdLinkKeys(f *Factory, runF func(context.Context, *LinkKeysOptions) error) *cobra.Command {
	opts := &LinkKeysOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "link-keys MANIFEST --out FILE",
		Short: "Issue Leaf Link API keys to the growers who must connect or reconnect a provider",
		Long: `link-keys issues a Leaf Link API key (POST /api-keys) to each managed grower who must act, so
that the onboarding team can send each one their widget link: growers whose credential needs
re-authorization (re-posting the manifest's token cannot help), and growers with no connection
at all (--for narrows it to one group).

Each key is appended to --out (CSV, mode 0600: externalId, leafUserId, reason, key, expiresAt)
and fsynced before the next request; Leaf shows a key's value only once, and the key appears
nowhere else: not in logs, reports or the journal. A grower who holds a valid key that
leaf-import issued gets no second one unless --rotate (the new key is created first, the old one
revoked after). A key created whose value never reached the file (a crash in between) is found
by the next run of the account, revoked, and issued again. --revoke-expired revokes the expired
and invalid keys leaf-import issued. Like apply, it takes the account's lock and journals every
request.

Exit codes: 0 done, 1 error, 3 some keys failed, 4 authentication failed, 5 another run holds
the account's lock, 130 interrupted.`,
		Example: `  leaf-import link-keys growers.yaml --out keys.csv
  leaf-import link-keys growers.yaml --out keys.csv --for reauthorize --expires-in 168h
  leaf-import link-keys growers.yaml --out keys.csv --rotate --revoke-expired`,
		Args: exactArgs(1, "MANIFEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Manifest = args[0]
			if opts.ExpiresIn < leaf.MinAPIKeyExpiry*time.Second {
				return withCode(exitError, fmt.Errorf("--expires-in must be at least 15m (Leaf's minimum)"))
			}
			if opts.Out == "" {
				return withCode(exitError, fmt.Errorf("--out FILE is required: Leaf shows each key once"))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runLinkKeys(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Out, "out", "", "CSV file the keys are appended to (mode 0600)")
	choiceVar(fl, &opts.For, "for", lifecycle.ForAll, "who gets a key: all, reauthorize (a credential to re-authorize) or connect (no connection)",
		lifecycle.ForAll, lifecycle.ForReauthorize, lifecycle.ForConnect)
	fl.DurationVar(&opts.ExpiresIn, "expires-in", 30*24*time.Hour, "lifetime of the keys (at least 15m)")
	fl.BoolVar(&opts.Rotate, "rotate", false, "issue a new key even to growers holding a valid one, then revoke the old one")
	fl.BoolVar(&opts.RevokeExpired, "revoke-expired", false, "revoke the expired and invalid keys leaf-import issued (one GET per managed grower)")
	registerRate(fl, &opts.Rate, "requests per second to Leaf")
	fl.DurationVar(&opts.LookupWindow, "lookup-window", exec.DefaultLookupWindow, "how long to re-check for a user whose create an earlier run left in doubt")
	fl.IntVar(&opts.KeepRuns, "keep-runs", 50, "runs kept in the account's history (0 keeps all)")
	registerMetrics(fl, &opts.Metrics, "the run's")
	return cmd
}

func runLinkKeys(ctx context.Context, opts *LinkKeysOptions) error {
	if err := opts.Metrics.check(); err != nil {
		return err
	}
	start := time.Now()
	res, err := linkKeysCode(ctx, opts)
	if opts.Metrics.set() && exitCode(err) != exitLocked {
		outcome := runOutcome(err)
		m := metrics.LinkKeys{Started: start, Outcome: outcome,
			LastSuccess: opts.Factory.lastSuccess(metrics.CommandLinkKeys, outcome.Succeeded())}
		if res != nil {
			m.Issued, m.Kept, m.Revoked, m.Failed = res.Issued, res.Kept, res.Revoked, res.Failed
		}
		if merr := opts.Metrics.publish(ctx, opts.Factory, metrics.CommandLinkKeys, m); merr != nil {
			opts.Factory.Logger().Error("cannot publish the run's metrics", "err", merr)
			if err == nil {
				err = withCode(exitError, merr)
			}
		}
	}
	return err
}

func linkKeysCode(ctx context.Context, opts *LinkKeysOptions) (*lifecycle.LinkKeysResult, error) {
	f := opts.Factory
	log := f.Logger()
	m, err := loadManifest(f, opts.Manifest, log)
	if err != nil {
		return nil, reportProblems(opts.IO.ErrOut, opts.Manifest, err)
	}
	common, err := commonOptions(f, m, &DiffFlags{Rate: opts.Rate}, 8, nil)
	if err != nil {
		return nil, err
	}
	res, err := lifecycle.LinkKeys(ctx, lifecycle.LinkKeysOptions{Options: common, ManifestPath: opts.Manifest, Out: opts.Out,
		For: opts.For, ExpiresIn: opts.ExpiresIn, Rotate: opts.Rotate, RevokeExpired: opts.RevokeExpired,
		LookupWindow: opts.LookupWindow, Concurrency: 4, KeepRuns: opts.KeepRuns})
	if res != nil {
		fmt.Fprintf(opts.IO.Out, "Link keys: %d issued (in %s), %d kept (a valid key was issued before), %d revoked, %d failed.",
			res.Issued, opts.Out, res.Kept, res.Revoked, res.Failed)
		if res.NoUser > 0 {
			fmt.Fprintf(opts.IO.Out, " %d grower(s) have no Leaf user yet (apply creates them).", res.NoUser)
		}
		fmt.Fprintln(opts.IO.Out)
	}
	switch {
	case err != nil:
		return res, err
	case res.Failed > 0:
		return res, withCode(exitFailed, fmt.Errorf("%d key(s) failed (see %s); run again to retry them", res.Failed, res.Report))
	}
	return res, nil
}
