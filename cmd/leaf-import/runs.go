package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/htmlview"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// RunsOptions are the options of `leaf-import runs`.
type RunsOptions struct {
	IO      *IOStreams
	Factory *Factory
	Format  format
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
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRuns(cmd.Context(), opts)
		},
	}
	choiceVar(cmd.Flags(), &opts.Format, "format", formatText, "output format: text or json", formatText, formatJSON)
	cmd.AddCommand(newCmdRunsShow(f))
	return cmd
}

// runsAccount is the account and the state root the runs commands read.
func (f *Factory) runsAccount() (workspace.Account, string, error) {
	client, err := leaf.NewClient(leaf.WithBaseURL(f.apiURL())) // only to check and normalize the URL
	if err != nil {
		return workspace.Account{}, "", withCode(exitError, err)
	}
	acct, err := f.account(client.BaseURL())
	if err != nil {
		return workspace.Account{}, "", withCode(exitError, err)
	}
	root, err := workspace.Root(f.stateDir, f.Getenv)
	if err != nil {
		return workspace.Account{}, "", withCode(exitError, err)
	}
	return acct, root, nil
}

// newCmdRunsShow builds `leaf-import runs show`.
func newCmdRunsShow(f *Factory) *cobra.Command {
	var output format
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show one run: its summary, failures, and every change (text, json, or a page)",
		Long: `runs show reads one run of the account (by id, or by its report or journal) from the workspace
and shows it: as text (the summary and the failures by cause), as its JSON report, or as one
self-contained HTML page to mail or attach to a ticket (the summary, the pace and the retries
over time as charts, the failures by cause, and a table of every change filtered in the page).
It sends no request.`,
		Example: `  leaf-import runs show 20261201T023000Z-a1b2c3 --format html > migration.html`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acct, root, err := f.runsAccount()
			if err != nil {
				return err
			}
			rep, status, err := lifecycle.RunReport(root, acct, args[0])
			if err != nil {
				return withCode(exitError, err)
			}
			switch output {
			case formatJSON:
				return rep.Encode(f.IO.Out, false)
			case formatHTML:
				return htmlview.RunPage(rep, string(status)).Render(f.IO.Out)
			}
			return renderRunText(f.IO.Out, rep, string(status))
		},
	}
	choiceVar(cmd.Flags(), &output, "format", formatText, "output format: text, json (the report) or html (one self-contained page)",
		formatText, formatJSON, formatHTML)
	return cmd
}

// renderRunText shows a run for people: its status, its summary, and its failures by cause.
func renderRunText(w io.Writer, rep *report.Report, status string) error {
	fmt.Fprintf(w, "Run %s: %s (account %s at %s, started %s).\n", rep.Run.ID, status, rep.Run.Account, rep.Run.LeafURL,
		rep.Run.StartedAt.Local().Format("2006-01-02 15:04:05"))
	fmt.Fprint(w, rep.Summary.Text())
	for _, g := range htmlview.RunPage(rep, status).Groups {
		fmt.Fprintf(w, "  %s: %d (%s", g.Title, g.Count, strings.Join(g.Items, ", "))
		if g.Count > len(g.Items) {
			fmt.Fprintf(w, " and %d more", g.Count-len(g.Items))
		}
		fmt.Fprintln(w, ")")
	}
	return nil
}

func runRuns(_ context.Context, opts *RunsOptions) error {
	acct, root, err := opts.Factory.runsAccount()
	if err != nil {
		return err
	}
	runs, err := lifecycle.Runs(root, acct)
	if err != nil {
		return withCode(exitError, err)
	}
	if opts.Format == formatJSON {
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
