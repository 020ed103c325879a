package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
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
	// ProgressEvery is the interval of progress log lines when stderr is not a terminal.
	ProgressEvery time.Duration
	// ReportEvery is how often the report file is rewritten during the run.
	ReportEvery time.Duration
}

// NewCmdApply builds `leaf-import apply`.
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

Every change ends as one record in the report (--report, JSON or CSV by extension), rewritten
every few seconds. Before each mutating request an intent, and after it an outcome, is written
to the journal (--journal, default beside the report). --resume FILE (a journal or a report)
finishes an interrupted or failed run without duplicates: it settles the requests in doubt by
lookup, re-reads Leaf and applies only what is not done, appending to the same journal.

Ctrl-C stops scheduling and lets requests in flight finish (a second Ctrl-C aborts them); the
report is written and the exit code is 130.

Exit codes: 0 every change succeeded (skipped conflicts and notices included), 1 error (invalid
manifest, safety valve, stale plan, fatal API error), 3 some changes failed, 4 authentication
failed, 5 another run holds the journal or report, 130 interrupted.`,
		Example: `  leaf-import apply samples/manifest.yaml --report run.json
  leaf-import apply samples/manifest.yaml --dry-run --prune
  leaf-import apply samples/manifest.yaml --plan plan.json --skip-stale
  leaf-import apply samples/manifest.yaml --resume run.json`,
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
	fl.DurationVar(&opts.LookupWindow, "lookup-window", exec.DefaultLookupWindow, "how long to re-check for a user whose create answer was lost")
	fl.StringVar(&opts.Report, "report", "", "report file, .json or .csv (default leaf-import-report-<time>.json)")
	fl.StringVar(&opts.Journal, "journal", "", "journal file (default beside the report: <report>.journal.jsonl)")
	fl.StringVar(&opts.Resume, "resume", "", "finish the run recorded in this journal or report")
	fl.BoolVar(&opts.Replan, "replan", false, "with --resume: accept a manifest that changed since the run being resumed")
	return cmd
}

// resumeSource picks what --resume FILE reads: FILE when it is a journal; for a report, the
// run's journal when it is still there (the report can lag the journal by a few seconds, and a
// kill may have left no report at all); the report otherwise.
func resumeSource(path string) string {
	if isJournal(path) {
		return path
	}
	var candidates []string
	if rep, err := report.Load(path); err == nil && rep.Run.Journal != "" {
		candidates = append(candidates, rep.Run.Journal)
	}
	candidates = append(candidates, journalFor(path))
	for _, c := range candidates {
		if isJournal(c) {
			return c
		}
	}
	return path
}

// isJournal reports whether path is a journal (its first line is a journal header).
func isJournal(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.Read(head)
	return strings.HasPrefix(string(head[:n]), `{"type":"header"`)
}

// reportFor is the report of a journal that does not name one.
func reportFor(journalPath string) string {
	if base, ok := strings.CutSuffix(journalPath, ".journal.jsonl"); ok {
		return base + ".json"
	}
	return journalPath + ".report.json"
}

// journalFor is the default journal of a report file.
func journalFor(reportPath string) string {
	return strings.TrimSuffix(reportPath, filepath.Ext(reportPath)) + ".journal.jsonl"
}

func newRunID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// applyFiles settles the report and journal paths. A resume goes on writing the files of the run
// it resumes (source is what it was read from) unless told otherwise.
func (opts *ApplyOptions) applyFiles(prior *report.Prior, source string, now time.Time) (reportPath, journalPath string) {
	reportPath, journalPath = opts.Report, opts.Journal
	if opts.Resume != "" && prior != nil {
		if prior.FromJournal {
			if journalPath == "" {
				journalPath = source
			}
			if reportPath == "" {
				reportPath = prior.ReportPath
			}
		} else if reportPath == "" {
			reportPath = opts.Resume
		}
	}
	if reportPath == "" {
		reportPath = "leaf-import-report-" + now.UTC().Format("20060102T150405Z") + ".json"
	}
	if journalPath == "" {
		journalPath = journalFor(reportPath)
	}
	return reportPath, journalPath
}

// skippedRecords turns the plan's conflicts and re-authorization notices into skipped records.
func skippedRecords(p *plan.Plan) []report.Record {
	var out []report.Record
	for _, c := range p.Conflicts {
		out = append(out, report.Record{ChangeID: plan.ChangeID(plan.KindUser, c.ExternalID, "", "", ""), Kind: "user",
			Action: "update", ExternalID: c.ExternalID, Status: report.StatusSkipped, ErrorCode: report.CodeConflict,
			Error:  fmt.Sprintf("%d Leaf users carry this externalId (%s)", len(c.LeafUserIDs), strings.Join(c.LeafUserIDs, ", ")),
			Source: c.Source.String()})
	}
	for _, n := range p.Notices {
		if n.Reason != plan.ReasonReauthorize {
			continue
		}
		out = append(out, report.Record{ChangeID: plan.ChangeID(plan.KindCredential, n.ExternalID, n.Provider, "", ""),
			Kind: "credential", Action: "replace", ExternalID: n.ExternalID, Provider: n.Provider, LeafUserID: n.LeafUserID,
			Status: report.StatusSkipped, ErrorCode: report.CodeReauthorize,
			Error: "status " + n.Status + ": Leaf already holds the manifest's token; the grower must re-authorize", Source: n.Source.String()})
	}
	return out
}

// settledRecords accounts for earlier runs' changes that did not succeed then and that the new
// plan no longer needs: Leaf already matches (their answer was lost, or a later run's lookup
// found them done). After --replan they may instead have left the manifest: then they are
// skipped.
func settledRecords(prior *report.Prior, changes []*plan.Change, skipped []report.Record, digest string) []report.Record {
	planned := map[string]bool{}
	for _, c := range changes {
		planned[c.ID] = true
	}
	for _, r := range skipped {
		planned[r.ChangeID] = true
	}
	var out []report.Record
	for _, r := range prior.All() {
		if r.Status == report.StatusSucceeded || planned[r.ChangeID] {
			continue
		}
		r.Attempts, r.HTTPStatus, r.DurationMs, r.ErrorCode, r.Error = 0, 0, 0, "", ""
		if prior.ManifestDigest != "" && prior.ManifestDigest != digest {
			r.Status, r.ErrorCode, r.Error = report.StatusSkipped, "not-planned", "no longer in the plan of the changed manifest"
		} else {
			r.Status, r.ResolvedByLookup = report.StatusSucceeded, true
		}
		out = append(out, r)
	}
	return out
}

// staleRecords reports the saved plan's stale changes skipped under --skip-stale.
func staleRecords(stale []plan.StaleChange) []report.Record {
	var out []report.Record
	for _, s := range stale {
		c := s.Saved
		out = append(out, report.Record{ChangeID: c.ID, Kind: c.Kind, Action: c.Action, ExternalID: c.ExternalID,
			Provider: c.Provider, AppName: c.AppName, LeafUserID: c.LeafUserID, Status: report.StatusSkipped,
			ErrorCode: report.CodeStale, Error: s.Why, Source: c.Source})
	}
	return out
}

// stopOnSignals closes stop on the first SIGINT/SIGTERM and cancels the requests in flight on
// the second.
func stopOnSignals(log *slog.Logger, cancel context.CancelFunc) (stop <-chan struct{}, release func()) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	st := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			log.Warn("stopping: no new changes start; requests in flight finish (interrupt again to abort them)")
			close(st)
		case <-done:
			return
		}
		select {
		case <-sig:
			log.Warn("aborting the requests in flight")
			cancel()
		case <-done:
		}
	}()
	return st, func() {
		signal.Stop(sig)
		close(done)
	}
}

func runApply(ctx context.Context, opts *ApplyOptions) error {
	f := opts.Factory
	log := f.Logger()
	start := time.Now()
	m, err := loadManifest(f, opts.Manifest, log)
	if err != nil {
		return reportProblems(opts.IO.ErrOut, opts.Manifest, err)
	}

	var prior *report.Prior
	source := ""
	if opts.Resume != "" {
		source = resumeSource(opts.Resume)
		if source != opts.Resume {
			log.Info("resuming from the run's journal, the durable record", "journal", source)
		}
		if prior, err = report.LoadPrior(source); err != nil {
			return withCode(exitError, fmt.Errorf("cannot resume: %w", err))
		}
		if prior.FromJournal && prior.ReportPath == "" {
			prior.ReportPath = reportFor(source)
		}
	}
	var saved *plan.View
	diffOpts := opts.Diff.options(plan.NewFingerprinter(f.Getenv("LEAF_IMPORT_FINGERPRINT_KEY")))
	if opts.PlanFile != "" {
		fh, err := os.Open(opts.PlanFile)
		if err != nil {
			return withCode(exitError, err)
		}
		saved, err = plan.ReadSaved(fh)
		fh.Close()
		if err != nil {
			return withCode(exitError, fmt.Errorf("%s: %w", opts.PlanFile, err))
		}
		fp := diffOpts.Fingerprints
		diffOpts = saved.DiffOptions()
		diffOpts.Fingerprints = fp
	}

	reportPath, journalPath := opts.applyFiles(prior, source, start)
	if reportPath == journalPath {
		return withCode(exitError, fmt.Errorf("the report and the journal cannot be the same file (%s)", reportPath))
	}
	if !opts.DryRun {
		for _, target := range []string{journalPath, reportPath} {
			lock, err := exec.AcquireLock(target)
			if err != nil {
				var le *exec.LockedError
				if errors.As(err, &le) {
					return withCode(exitLocked, err)
				}
				return withCode(exitError, err)
			}
			defer lock.Release()
		}
	}

	client, err := newClient(f, opts.Diff.Rate, opts.Concurrency, log)
	if err != nil {
		return err
	}
	if err := client.Authenticate(ctx); err != nil {
		return err
	}
	account := client.Account()
	if prior != nil {
		if err := checkResumable(prior, client.BaseURL(), account, m.Digest, opts.Replan); err != nil {
			return withCode(exitError, err)
		}
	}
	if saved != nil {
		if err := saved.CheckTarget(client.BaseURL(), account, m.Digest); err != nil {
			return withCode(exitError, fmt.Errorf("%s: refusing the saved plan: %w", opts.PlanFile, err))
		}
	}

	runID := newRunID(start)
	var journal *exec.Journal
	if !opts.DryRun {
		journal, err = exec.OpenJournal(journalPath, report.JournalLine{RunID: runID, Tool: "leaf-import " + version,
			ManifestDigest: m.Digest, LeafURL: client.BaseURL(), Account: account, Report: reportPath})
		if err != nil {
			return withCode(exitError, fmt.Errorf("cannot open the journal: %w", err))
		}
		defer journal.Close()
	}

	created := map[string]string{}
	if prior != nil {
		for ext, id := range prior.Created {
			created[ext] = id
		}
		if !opts.DryRun && len(prior.Unresolved) > 0 {
			log.Info("settling requests an earlier run left in doubt", "count", len(prior.Unresolved))
			found, err := exec.Resolve(ctx, client, prior, journal, opts.LookupWindow, opts.Concurrency, nil, log)
			if err != nil {
				return err
			}
			for ext, id := range found {
				created[ext] = id
			}
		}
	}
	snap, err := readState(ctx, client, m, log)
	if err != nil {
		return err
	}
	if n, err := exec.Overlay(ctx, client, snap, created); err != nil {
		return fmt.Errorf("reading users created by an earlier run: %w", err)
	} else if n > 0 {
		log.Info("counted users created by an earlier run that Leaf does not list yet", "users", n)
	}

	p := computePlan(m, snap, diffOpts)
	changes := p.Changes
	var skipped []report.Record
	if saved != nil {
		st := saved.CompareSaved(p)
		for _, s := range st.Stale {
			log.Warn("stale change in the saved plan", "change", s.Saved.ID, "why", s.Why)
		}
		if len(st.Stale) > 0 && !opts.SkipStale {
			return withCode(exitError, fmt.Errorf("%d change(s) of %s went stale since it was made; nothing was sent (re-plan, or --skip-stale to apply the rest)",
				len(st.Stale), opts.PlanFile))
		}
		for _, c := range st.Extra {
			log.Warn("a change not in the saved plan is not applied", "change", c.ID)
		}
		changes = st.Apply
		skipped = staleRecords(st.Stale)
		p.Changes = changes
	}
	valves, _ := opts.Diff.valves()
	if err := p.RenderText(opts.IO.Out, opts.Diff.Rate); err != nil {
		return err
	}
	if err := p.CheckValves(valves); err != nil {
		return withCode(exitError, err)
	}
	if opts.DryRun {
		log.Info("dry run: nothing was sent")
		return nil
	}
	skipped = append(skipped, skippedRecords(p)...)
	if prior != nil {
		skipped = append(skipped, settledRecords(prior, changes, skipped, m.Digest)...)
	}

	run := report.Run{ID: runID, Tool: "leaf-import " + version, ManifestDigest: m.Digest, LeafURL: client.BaseURL(),
		Account: account, Journal: journalPath, StartedAt: start.UTC()}
	var priorDone []report.Record
	if prior != nil {
		run.Previous = prior.RunIDs
		priorDone = prior.Done()
	}
	rw := report.NewWriter(reportPath, run, priorDone)
	for _, r := range skipped {
		r.RunID, r.StartedAt = runID, time.Now().UTC()
		if err := journal.Record(r); err != nil {
			return withCode(exitError, err)
		}
		rw.Add(r)
	}
	rw.Start(opts.ReportEvery)
	prog := newProgress(opts.IO, log, len(changes), opts.ProgressEvery)

	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop, release := stopOnSignals(log, cancel)
	applyStart := time.Now()
	before := client.Stats()
	res := exec.Apply(reqCtx, changes, client, exec.Options{
		Concurrency: opts.Concurrency, LookupWindow: opts.LookupWindow, RunID: runID, Journal: journal,
		Stop: stop, Log: log,
		OnRecord: func(r report.Record) {
			rw.Add(r)
			prog.record(r)
		},
	})
	release()
	prog.finish()

	stats := client.Stats()
	run.EndedAt = time.Now().UTC()
	run.Interrupted = res.Interrupted
	current := rw.Records()
	summary := report.Summarize(current, stats.Requests, stats.Retries, res.Lookups, run.EndedAt.Sub(start))
	final, werr := rw.Close(run, summary)
	fmt.Fprint(opts.IO.Out, summary.Text())
	applied := time.Since(applyStart)
	log.Info("apply finished", "report", reportPath, "journal", journalPath, "records", len(final.Records),
		"requests", stats.Requests-before.Requests, "applySeconds", applied.Round(time.Millisecond).Seconds())
	if werr != nil {
		log.Error("cannot write the report", "file", reportPath, "err", werr)
	}

	switch {
	case res.Fatal != nil && leaf.IsAuth(res.Fatal):
		return withCode(exitAuth, res.Fatal)
	case res.Fatal != nil:
		return withCode(exitError, res.Fatal)
	case res.Interrupted:
		return withCode(exitInterrupted, fmt.Errorf("interrupted: the report lists the pending changes; finish with --resume %s", journalPath))
	case summary.Failed > 0 || werr != nil:
		return withCode(exitFailed, fmt.Errorf("%d change(s) failed (see %s); finish with --resume %s", summary.Failed, reportPath, journalPath))
	}
	return nil
}

// checkResumable refuses to resume a run made against another Leaf or account, or (without
// --replan) from another manifest.
func checkResumable(prior *report.Prior, leafURL, account, digest string, replan bool) error {
	switch {
	case prior.LeafURL != "" && prior.LeafURL != leafURL:
		return fmt.Errorf("cannot resume: the run was made against %s, not %s", prior.LeafURL, leafURL)
	case prior.Account != "" && account != "" && prior.Account != account:
		return fmt.Errorf("cannot resume: the run was made for API owner %q, not %q", prior.Account, account)
	case prior.ManifestDigest != "" && prior.ManifestDigest != digest && !replan:
		return fmt.Errorf("cannot resume: the manifest changed since the run (digest %s, now %s); use --replan to apply the new manifest",
			prior.ManifestDigest, digest)
	}
	return nil
}
