package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gocarina/gocsv"
	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/csvcell"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/metrics"
)

// StatusOptions are the options of `leaf-import status`.
type StatusOptions struct {
	IO        *IOStreams
	Factory   *Factory
	Manifest  string
	Format    format
	MaxEvents int
	Metrics   metricsFlags
	Rate      rateFlag
}

// NewCmdStatus builds `leaf-import status`.
func NewCmdStatus(f *Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "status [MANIFEST]",
		Short: "Show the health of the account's growers and connections",
		Long: `status reads every Leaf user (in pages of 100, credentials embedded) and reports the health of
their provider connections: totals by provider and status, then one entry per credential that
is not OK and per manifest connection Leaf lacks, with the time and text of the credential's
latest error event and whether re-posting the manifest's token could help (apply does that) or
the grower must re-authorize.

Without a manifest it covers every Leaf user that has an externalId; with one, the managed
growers. It costs ceil(users/100) requests plus one events request per unhealthy credential, at
most --max-events; never one request per grower. It changes nothing.

Exit codes: 0 every connection is healthy, 6 some need a person, 1 error, 4 authentication
failed.`,
		Example: `  leaf-import status
  leaf-import status samples/manifest.yaml --format json | jq '.credentials[] | select(.reauthorizeHelps == false)'
  leaf-import status --format csv > unhealthy.csv
  leaf-import status --metrics-file /var/lib/node_exporter/textfile/leaf_import_status.prom`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Manifest = args[0]
			}
			if opts.MaxEvents < 0 {
				return withCode(exitError, fmt.Errorf("--max-events must be 0 or more"))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runStatus(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	choiceVar(fl, &opts.Format, "format", formatText, "output format: text, json or csv (the entries)", formatText, formatJSON, formatCSV)
	fl.IntVar(&opts.MaxEvents, "max-events", 100, "read the events of at most N unhealthy credentials (one request each)")
	registerMetrics(fl, &opts.Metrics, "the account's health as")
	registerRate(fl, &opts.Rate, "requests per second to Leaf")
	return cmd
}

func runStatus(ctx context.Context, opts *StatusOptions) error {
	f := opts.Factory
	log := f.Logger()
	if err := opts.Metrics.check(); err != nil {
		return err
	}
	var m *manifest.Manifest
	if opts.Manifest != "" {
		var err error
		if m, err = loadManifest(f, opts.Manifest, log); err != nil {
			return reportProblems(opts.IO.ErrOut, opts.Manifest, err)
		}
	}
	common, err := commonOptions(f, m, &DiffFlags{Rate: opts.Rate}, 8, nil)
	if err != nil {
		return err
	}
	rep, err := lifecycle.Status(ctx, lifecycle.StatusOptions{Options: common, MaxEvents: opts.MaxEvents})
	if err != nil {
		return err
	}
	switch opts.Format {
	case formatJSON:
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	case formatCSV:
		err = gocsv.MarshalCSV(rep.Credentials, csvcell.NewWriter(opts.IO.Out, false))
	default:
		err = renderStatus(opts.IO, rep)
	}
	if err != nil {
		return err
	}
	if opts.Metrics.set() {
		if err := opts.Metrics.publish(ctx, f, metrics.CommandStatus, metrics.Status{At: time.Now(),
			Credentials: rep.Totals, Attention: rep.Attention()}); err != nil {
			return withCode(exitError, err)
		}
	}
	if n := len(rep.Credentials); n > 0 {
		return withCode(exitAttention, fmt.Errorf("%d connection(s) need a person", n))
	}
	return nil
}

func renderStatus(io *IOStreams, rep *lifecycle.StatusReport) error {
	fmt.Fprintf(io.Out, "%d grower(s) of %s.\n\n", rep.Growers, rep.Account)
	statuses := map[string]bool{}
	for _, byStatus := range rep.Totals {
		for st := range byStatus {
			statuses[st] = true
		}
	}
	cols := slices.Sorted(maps.Keys(statuses))
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "PROVIDER\t%s\t\n", strings.Join(cols, "\t"))
	for _, p := range slices.Sorted(maps.Keys(rep.Totals)) {
		row := []string{p}
		for _, st := range cols {
			row = append(row, fmt.Sprint(rep.Totals[p][st]))
		}
		fmt.Fprintf(tw, "%s\t\n", strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Credentials) == 0 {
		fmt.Fprintln(io.Out, "\nEvery connection is healthy.")
		return nil
	}
	fmt.Fprintf(io.Out, "\nNeeds a person (%d):\n", len(rep.Credentials))
	for _, e := range rep.Credentials {
		line := fmt.Sprintf("  %s/%s  %s", e.ExternalID, e.Provider, e.Status)
		if e.LeafUserID != "" {
			line += "  user " + e.LeafUserID
		}
		if e.LastError != "" {
			line += "  last error " + e.LastErrorAt + ": " + e.LastError
		}
		switch {
		case e.ReauthorizeHelps == nil:
		case *e.ReauthorizeHelps:
			line += "  (apply re-posts the manifest's connection)"
		default:
			line += "  (the grower must re-authorize)"
		}
		fmt.Fprintln(io.Out, line)
	}
	if rep.EventsSkipped > 0 {
		fmt.Fprintf(io.Out, "(%d credential(s) beyond --max-events: their events were not read)\n", rep.EventsSkipped)
	}
	return nil
}
