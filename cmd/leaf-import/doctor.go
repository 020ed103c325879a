package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/doctor"
	"github.com/leaf-import/leaf-import/internal/manifest"
)

// DoctorOptions are the options of `leaf-import doctor`.
type DoctorOptions struct {
	IO          *IOStreams
	Factory     *Factory
	Manifest    string
	Format      format
	NoWrite     bool
	Rate        rateFlag
	Concurrency int
}

// NewCmdDoctor builds `leaf-import doctor`.
func NewCmdDoctor(f *Factory, runF func(context.Context, *DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "doctor [MANIFEST]",
		Short: "Check a Leaf account, and leaf-import's assumptions about it, before a migration",
		Long: `doctor checks the account the environment points at and prints one row per check: what
leaf-import assumed of Leaf, what it observed, and what follows for this account.

It reads: the connection and authentication, the clock against Leaf's Date header, the paging
and rate-limit headers of GET /users and the page size Leaf honours, and with a manifest the app
keys of its providers and the estimated duration of its plan at the observed rate.

Unless --no-write, it creates a probe grower (externalId leaf-import-probe-...), measures how
long it takes to show by id, through the externalId filter and in the paged list (the list lag),
whether the filter matches exactly, whether PATCH works, and that a missing credential answers
404, then deletes it: also when a check fails or the run is interrupted, and a probe a crash left
is deleted by the next doctor. The probe never gets a credential (that would start a sync).

What it measures is kept in the account's workspace and used by later runs: apply's default
--lookup-window follows the list lag (twice the lag plus 1 s), and a missing PATCH is known in
advance (--lookup-window and --patch override them).

Exit codes: 0 every check passes, 6 an assumption does not hold (the tool adapts; read the
row), 1 error, 4 authentication failed.`,
		Example: `  leaf-import doctor
  leaf-import doctor samples/manifest.yaml --format json | jq '.checks[] | select(.ok == false)'
  leaf-import doctor --no-write`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Manifest = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDoctor(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	choiceVar(fl, &opts.Format, "format", formatText, "output format: text or json", formatText, formatJSON)
	fl.BoolVar(&opts.NoWrite, "no-write", false, "no probe grower: send no mutating request")
	registerRate(fl, &opts.Rate, "requests per second to Leaf, and the rate of the estimate")
	fl.IntVar(&opts.Concurrency, "concurrency", 8, "workers assumed by the estimate")
	return cmd
}

func runDoctor(ctx context.Context, opts *DoctorOptions) error {
	f := opts.Factory
	log := f.Logger()
	var m *manifest.Manifest
	if opts.Manifest != "" {
		var err error
		if m, err = loadManifest(f, opts.Manifest, log); err != nil {
			return reportProblems(opts.IO.ErrOut, opts.Manifest, err)
		}
	}
	common, err := commonOptions(f, m, &DiffFlags{Rate: opts.Rate}, opts.Concurrency, nil)
	if err != nil {
		return err
	}
	rep, err := doctor.Run(ctx, doctor.Options{Options: common, NoWrite: opts.NoWrite, Concurrency: opts.Concurrency})
	if err != nil {
		return err
	}
	if opts.Format == formatJSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tOK\tOBSERVED\tASSUMED\tWHAT FOLLOWS")
		for _, c := range rep.Checks {
			ok := "yes"
			if !c.OK {
				ok = "NO"
			}
			obs, _ := json.Marshal(c.Observed)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, ok, obs, c.Assumed, c.Consequence)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if rep.FactsSaved {
			fmt.Fprintln(opts.IO.Out, "\nSaved in the account's workspace for later runs: the list lag and PATCH support.")
		}
	}
	if n := rep.Failed(); n > 0 {
		return withCode(exitAttention, fmt.Errorf("%d check(s) show an assumption that does not hold on this account: read their rows", n))
	}
	return nil
}
