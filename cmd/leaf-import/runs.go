package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// RunsOptions are the options of `leaf-import runs`.
type RunsOptions struct {
	IO      *IOStreams
	Factory *Factory
	Format  string
}

// NewCmdRuns builds `leaf-import runs`.
func NewCmdRuns(f *Factory, runF func(context.Context, *RunsOptions) error) *cobra.Command {
	opts := &RunsOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the account's apply runs, newest first",
		Long: `runs lists the apply runs of the account the environment points at (LEAF_API_URL and the API
owner), newest first, from its workspace: run id, start and end, status (succeeded, failed,
interrupted, crashed, running), the counts, and the path of the run's report. It sends no
request and writes nothing.

A crashed run (killed, or its machine went down) is settled by the next apply, which looks up
the requests it left in doubt; apply --resume RUNID continues it.`,
		Example: `  leaf-import runs
  leaf-import runs --format json | jq '.[0].report'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(opts.Format); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRuns(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text or json")
	return cmd
}

func runRuns(_ context.Context, opts *RunsOptions) error {
	f := opts.Factory
	base := f.Getenv("LEAF_API_URL")
	if base == "" {
		base = leaf.DefaultBaseURL
	}
	client, err := leaf.NewClient(leaf.WithBaseURL(base)) // only to check and normalize the URL
	if err != nil {
		return withCode(exitError, err)
	}
	acct, err := f.account(client.BaseURL())
	if err != nil {
		return withCode(exitError, err)
	}
	root, err := workspace.Root(f.stateDir, f.Getenv)
	if err != nil {
		return withCode(exitError, err)
	}
	runs, err := lifecycle.Runs(root, acct)
	if err != nil {
		return withCode(exitError, err)
	}
	if opts.Format == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(runs)
	}
	if len(runs) == 0 {
		fmt.Fprintf(opts.IO.Out, "No runs yet for %s.\n", acct)
		return nil
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tDURATION\tSTATUS\tSUCCEEDED\tFAILED\tSKIPPED\tPENDING\tREPORT")
	for _, r := range runs {
		dur, counts := "-", "-\t-\t-\t-"
		if r.FinishedAt != nil {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Second).String()
		}
		if s := r.Summary; s != nil {
			counts = fmt.Sprintf("%d\t%d\t%d\t%d", s.Succeeded, s.Failed, s.Skipped, s.Pending)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.RunID, r.StartedAt.Local().Format("2006-01-02 15:04:05"), dur, r.Status, counts, r.Report)
	}
	return tw.Flush()
}
