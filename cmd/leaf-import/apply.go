package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/metrics"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// ApplyOptions are the options of `leaf-import apply`.
type ApplyOptions struct {
	IO           *IOStreams
	Factory      *Factory
	Manifest     string
	Diff         DiffFlags
	PlanFile     string
	SkipStale    bool
	DryRun       bool
	Concurrency  int
	LookupWindow time.Duration
	Report       string
	Journal      string
	Resume       string
	Replan       bool
	KeepRuns     int
	// LookupWindowSet is set when --lookup-window was given (else the account's facts decide).
	LookupWindowSet bool
	// Patch is --patch: auto, patch or put.
	Patch lifecycle.PatchMode
	// AcceptNotices exits 0 rather than 6 when growers need a person.
	AcceptNotices bool
	// Metrics receive the run's Prometheus metrics at its end.
	Metrics metricsFlags
	// Quiet shows the plan's summary rather than every change.
	Quiet bool
	// Format is text, or json: the run as a stream of JSON events on stdout.
	Format format
	// FailedRows receives the growers whose changes did not all succeed, as a CSV manifest.
	FailedRows string
	// ProgressEvery is the interval of progress log lines when stderr is not a terminal.
	ProgressEvery time.Duration
	// ReportEvery is how often the workspace report is rewritten during the run.
	ReportEvery time.Duration
}

// NewCmdApply builds `leaf-import apply`. It is longer than 80 lines because it declares every
// flag of apply in one list, in the order the help shows them; it holds no logic.
func NewCmdApply(f *Factory, runF func(context.Context, *ApplyOptions) error) *cobra.Command {
	opts := &ApplyOptions{IO: f.IO, Factory: f, ProgressEvery: 10 * time.Second, ReportEvery: 3 * time.Second}
	cmd := &cobra.Command{
		Use:   "apply MANIFEST",
		Short: "Make Leaf match the manifest: plan, then apply concurrently under the rate limit",
		Long: `apply reads the manifest and the Leaf state, prints the plan, and applies it: apps first,
then each grower's user before its credentials (a credential replace is a DELETE then a POST),
growers in parallel on --concurrency workers, every request through one --rate limiter.
Requests are retried with backoff; a 429 pauses every worker. A create whose answer is lost is
looked up and sent again only if the lookup shows it created nothing: never created twice.

One apply at a time runs against an account (the Leaf URL plus the API owner): a second one
exits 5 before it sends anything, whatever its directory or files. Every apply gets a run
directory in the account's workspace (see leaf-import runs) holding its journal (an intent
before each mutating request, an outcome after) and its report (one record per change);
--report FILE also writes a copy where you ask (.json or .csv), --journal FILE a copy of the
journal when the run ends. Before it reads Leaf, every apply settles by lookup the requests earlier runs left in
doubt (a crash, a kill), and counts the users recent runs created while Leaf's list lags: a
plain re-run is as safe as a resume. --resume RUN (a run id, its journal or a report) continues
one run and its report.

Ctrl-C stops scheduling and lets requests in flight finish (a second Ctrl-C aborts them); the
report is written and the exit code is 130.

Exit codes: 0 every change succeeded and nothing needs a person, 1 error (invalid manifest,
safety valve, stale plan, fatal API error), 3 some changes failed, 4 authentication failed, 5
another run holds the account's lock, 6 nothing failed but growers need a person (conflicts,
credentials to re-authorize; --accept-notices exits 0 for them), 130 interrupted.`,
		Example: `  leaf-import apply samples/manifest.yaml --report run.json
  leaf-import apply samples/manifest.yaml --dry-run --prune
  leaf-import apply samples/manifest.yaml --plan plan.json --skip-stale
  leaf-import apply samples/manifest.yaml --resume run.json
  leaf-import apply samples/manifest.yaml --resume 20261130T020000Z-3f9a1c`,
		Args: exactArgs(1, "MANIFEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Manifest = args[0]
			if err := opts.Diff.check(); err != nil {
				return err
			}
			if opts.Concurrency < 1 {
				return withCode(exitError, fmt.Errorf("--concurrency must be at least 1"))
			}
			if opts.LookupWindow < 0 {
				return withCode(exitError, fmt.Errorf("--lookup-window must not be negative"))
			}
			opts.LookupWindowSet = cmd.Flags().Changed("lookup-window")
			if opts.ProgressEvery <= 0 {
				return withCode(exitError, fmt.Errorf("--progress-every must be more than 0"))
			}
			if opts.KeepRuns < 0 {
				return withCode(exitError, fmt.Errorf("--keep-runs must be 0 (keep every run) or more"))
			}
			if opts.Format == formatJSON && opts.DryRun {
				return withCode(exitError, fmt.Errorf("--dry-run prints a plan: use plan --format json for it as JSON"))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runApply(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	opts.Diff.register(fl)
	fl.StringVar(&opts.PlanFile, "plan", "", "apply a plan saved by plan --out (secrets come from the manifest again)")
	fl.BoolVar(&opts.SkipStale, "skip-stale", false, "with --plan: skip and report the changes whose Leaf object changed since, instead of refusing")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the plan with apply's flags and send no mutating request")
	fl.IntVar(&opts.Concurrency, "concurrency", 8, "workers applying changes (each grower is owned by one worker at a time)")
	fl.DurationVar(&opts.LookupWindow, "lookup-window", exec.DefaultLookupWindow, "how long to wait for a user whose create answer was lost to show in Leaf's lists "+
		"(default 5s, raised by the lag leaf-import doctor or an earlier run measured, and by the lag this run sees; only this flag goes lower)")
	fl.DurationVar(&opts.ProgressEvery, "progress-every", opts.ProgressEvery, "how often a progress line is logged when stderr is not a terminal")
	choiceVar(fl, &opts.Patch, "patch", lifecycle.PatchAuto, "how users are updated: auto (what doctor found, else PATCH with a GET+PUT fallback), patch, or put",
		lifecycle.PatchAuto, lifecycle.PatchPatch, lifecycle.PatchPut)
	fl.StringVar(&opts.Report, "report", "", "also write the report to FILE, .json or .csv (it is always kept in the run's directory)")
	fl.StringVar(&opts.Journal, "journal", "", "also write a copy of the run's journal to FILE when the run ends")
	fl.StringVar(&opts.Resume, "resume", "", "continue a run: its id (leaf-import runs), its journal, or its report")
	fl.BoolVar(&opts.Replan, "replan", false, "with --resume: accept a manifest that changed since the run being resumed")
	fl.IntVar(&opts.KeepRuns, "keep-runs", 50, "runs kept in the account's history (0 keeps all)")
	registerMetrics(fl, &opts.Metrics, "the run's")
	choiceVar(fl, &opts.Format, "format", formatText, "output: text, or json (one JSON event per line while it runs, ending with the run's summary; see the README)",
		formatText, formatJSON)
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "show the plan's summary rather than every change (a plan of more than 300 changes is shown so anyway)")
	fl.StringVar(&opts.FailedRows, "failed-rows", "", "write the growers with a failed or pending change to FILE.csv, as a CSV manifest with a leafImportError column: fix and apply it")
	fl.BoolVar(&opts.AcceptNotices, "accept-notices", false, "exit 0 rather than 6 when growers need a person (conflicts, re-authorizations); they are still reported")
	return cmd
}

func runApply(ctx context.Context, opts *ApplyOptions) error {
	start := time.Now()
	res, err := applyCode(ctx, opts)
	if opts.Metrics.set() && !opts.DryRun && exitCode(err) != exitLocked && !isOutputError(err) {
		if merr := publishRunMetrics(ctx, opts, res, start, err); merr != nil {
			opts.Factory.Logger().Error("cannot publish the run's metrics", "err", merr)
			if err == nil {
				err = withCode(exitError, merr)
			}
		}
	}
	return err
}

// publishRunMetrics writes and pushes the metrics of a run that ended with err (its exit code
// says how); a run that failed before it applied anything (res nil) still publishes, with its
// outcome.
func publishRunMetrics(ctx context.Context, opts *ApplyOptions, res *lifecycle.Result, start time.Time, err error) error {
	outcome := runOutcome(err)
	m := metrics.Run{Started: start, Duration: time.Since(start), Outcome: outcome}
	if res != nil {
		m = res.Metrics(start, outcome)
	}
	m.LastSuccess = opts.Factory.lastSuccess(metrics.CommandApply, outcome.Succeeded())
	return opts.Metrics.publish(ctx, opts.Factory, metrics.CommandApply, m)
}

// applyExit is how a run that applied ends: the error (and so the exit code) its result calls
// for, nil for success.
func applyExit(opts *ApplyOptions, res *lifecycle.Result) error {
	switch {
	case res.Fatal != nil && leaf.IsOutage(res.Fatal):
		return withCode(exitFailed, fmt.Errorf("%w; the run stopped (see %s); finish with --resume %s", res.Fatal, shownReport(res), res.RunID))
	case res.Fatal != nil:
		return res.Fatal
	case res.Status == workspace.RunInterrupted:
		return withCode(exitInterrupted, fmt.Errorf("interrupted: the report lists the pending changes; finish with --resume %s", res.RunID))
	case res.WriteErr != nil && res.Summary.Failed == 0:
		return withCode(exitFailed, fmt.Errorf("the run finished but its report could not be written (%v); the run's report is %s", res.WriteErr, shownReport(res)))
	case res.Status == workspace.RunFailed:
		return withCode(exitFailed, fmt.Errorf("%d change(s) failed (see %s); finish with --resume %s", res.Summary.Failed,
			shownReport(res), res.RunID))
	case res.Summary.Conflicts+res.Summary.Notices > 0 && !opts.AcceptNotices:
		return withCode(exitAttention, fmt.Errorf("%d conflict(s) and %d notice(s) need a person (see %s); --accept-notices exits 0 for them",
			res.Summary.Conflicts, res.Summary.Notices, shownReport(res)))
	}
	return nil
}

// applyCode runs the apply and returns what it produced (nil when it applied nothing) and the
// error that sets the exit code.
func applyCode(ctx context.Context, opts *ApplyOptions) (*lifecycle.Result, error) {
	f := opts.Factory
	log := f.Logger()
	if err := checkReportName(opts.Report); err != nil {
		return nil, err
	}
	if opts.FailedRows != "" && !strings.EqualFold(filepath.Ext(opts.FailedRows), ".csv") {
		return nil, withCode(exitError, fmt.Errorf("--failed-rows %s: the failed rows are written as a CSV manifest (.csv)", opts.FailedRows))
	}
	if err := checkOutputs(outputPath{flag: "--report", path: opts.Report}, outputPath{flag: "--journal", path: opts.Journal},
		outputPath{flag: "--failed-rows", path: opts.FailedRows}); err != nil {
		return nil, err
	}
	if !opts.DryRun {
		if err := opts.Metrics.check(); err != nil {
			return nil, err
		}
	}
	m, err := loadManifest(f, opts.Manifest, log)
	if err != nil {
		return nil, reportProblems(opts.IO.ErrOut, opts.Manifest, err)
	}
	common, err := commonOptions(f, m, &opts.Diff, opts.Concurrency, nil)
	if err != nil {
		return nil, err
	}
	in := f.interrupts
	if in == nil { // a test calling the command without run
		in = watchInterrupts(ctx, f)
		defer in.release()
	}
	window := opts.LookupWindow
	if !opts.LookupWindowSet {
		window = 0 // the account's facts, else the default
	}
	planOut := opts.IO.Out // the plan and the summary, as text; a JSON stream carries its own
	if opts.Format == formatJSON {
		planOut = io.Discard
	}
	res, err := lifecycle.Apply(in.ctx, lifecycle.ApplyOptions{
		Options: common, ManifestPath: opts.Manifest, PlanFile: opts.PlanFile, SkipStale: opts.SkipStale, DryRun: opts.DryRun,
		Quiet: opts.Quiet, Concurrency: opts.Concurrency, LookupWindow: window, Patch: opts.Patch, Report: opts.Report, Journal: opts.Journal,
		Resume: opts.Resume, Replan: opts.Replan, KeepRuns: opts.KeepRuns, ReportEvery: opts.ReportEvery,
		Out: planOut, Stop: in.stop, OnApplying: func() { in.draining.Store(true); boundMemory(applyMemoryFloor) },
		OnLoaded: func() { boundMemory(applyMemoryFloor) }, // apply --plan holds the saved plan through its comparison
		NewProgress: func(total int) lifecycle.Progress {
			if opts.Format == formatJSON {
				return newEvents(opts.IO.Out, total, opts.ProgressEvery, common.Client.Pacer().Stats)
			}
			return newProgress(opts.IO, f.errScreen(), log, total, opts.ProgressEvery, common.Client.Pacer().Stats)
		},
	})
	switch {
	case err != nil && (errors.Is(err, context.Canceled) || in.ctx.Err() != nil):
		return res, withCode(exitInterrupted, fmt.Errorf("interrupted before anything was applied"))
	case err != nil:
		return res, reportProblems(opts.IO.ErrOut, opts.Manifest, err)
	case res == nil: // a dry run
		return res, nil
	}
	if opts.Format == formatJSON {
		if err := writeSummaryEvent(opts.IO.Out, res.RunID, res.Summary); err != nil {
			return res, withCode(exitError, err)
		}
	}
	if opts.FailedRows != "" {
		if err := lifecycle.WriteFailedRows(opts.FailedRows, opts.Manifest, m.Digest, f.manifestSource(), res.FailedGrowers); err != nil {
			log.Error("cannot write the failed rows", "err", err)
		} else if n := len(res.FailedGrowers); n > 0 {
			log.Info("wrote the growers whose changes did not all succeed: fix them and apply the file", "growers", n, "file", opts.FailedRows)
		}
	}
	return res, applyExit(opts, res)
}

// shownReport is the report a message points to: the --report copy, unless writing it failed,
// then the run's report in the workspace.
func shownReport(res *lifecycle.Result) string {
	if res.UserReport != "" && res.WriteErr == nil {
		return res.UserReport
	}
	return res.Report
}

// checkReportName refuses a --report whose extension names no report format.
func checkReportName(name string) error {
	if name == "" {
		return nil
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".csv":
		return nil
	}
	return withCode(exitError, fmt.Errorf("--report %s: the report is written as .json or .csv, by the file's extension", name))
}
