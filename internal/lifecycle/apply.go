package lifecycle

import (
	"context"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/planview"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// Apply runs one apply against the account: lock, settle, read, plan, apply, report, history.
// It returns an error when the run could not start or stopped before it changed anything (a
// *workspace.LockedError when another run holds the account); a run that applied returns a
// Result saying how it ended. A dry run returns (nil, nil) after printing the plan.
func Apply(ctx context.Context, o ApplyOptions) (*Result, error) {
	start := time.Now()
	a := &applyRun{o: &o, runID: NewRunID(start), start: start}
	if err := a.prepare(); err != nil {
		return nil, err
	}
	if !o.DryRun {
		lock, err := a.s.lock(a.runID, start)
		if err != nil {
			return nil, err
		}
		defer lock.Release()
	}
	if err := a.authenticate(ctx); err != nil {
		return nil, err
	}
	created, inDoubt, err := a.settleEarlier(ctx)
	if err != nil {
		return nil, err
	}
	p, sum, err := a.plan(ctx, created, inDoubt)
	if err != nil || o.DryRun {
		return nil, err
	}
	select {
	case <-o.Stop:
		return nil, context.Canceled
	default:
	}
	a.skipped = append(a.skipped, skippedRecords(sum)...)
	if a.res != nil {
		a.skipped = append(a.skipped, settledRecords(a.res.prior, p.All(), a.skipped, o.Manifest.Digest)...)
	}
	// Only a plan with config changes is gone through for them. The records dropped are of
	// configs the plan changes, which it compared unequal: a later pass plans them the same.
	var configs iter.Seq[*plan.Change]
	if sum.CountsOf(plan.KindConfig).Changes() > 0 {
		configs = p.All()
	}
	cm := configMemoryFor(a.s.ws, configs, a.diffOpts.ConfigApplied)
	result, err := a.apply(ctx, p.All(), cm.record)
	if result != nil {
		if err := cm.save(sum.ConfigVerified); err != nil {
			o.Log.Warn("cannot record the configs applied; the next run reads them from Leaf again", "err", err)
		}
	}
	return result, err
}

// applyRun is one apply in progress: what its phases (prepare, authenticate, settleEarlier,
// plan, apply) hand on to the next.
type applyRun struct {
	o     *ApplyOptions
	runID string
	start time.Time
	s     *session
	// res is the run being resumed (nil for none); saved the plan applied (nil for a fresh one).
	res      *resumed
	saved    *planview.View
	diffOpts plan.Options
	// skipped are the records of changes decided before the run (stale, skipped, settled).
	skipped []report.Record
	// total is the number of changes the run applies; listPages what a read of every user costs
	// once the run's creates are in (parked creates are settled by such a read when cheaper).
	total, listPages int
}

// prepare opens the account's workspace, takes in what doctor and earlier runs measured, and
// reads the run being resumed and the saved plan: everything that needs no request.
func (a *applyRun) prepare() error {
	o := a.o
	s, err := open(o.Options, !o.DryRun)
	if err != nil {
		return err
	}
	a.s = s
	if err := s.useFacts(o); err != nil {
		return err
	}
	if o.Resume != "" {
		if a.res, err = locate(s.ws, o.Resume); err != nil {
			return err
		}
		if a.res.journal != "" && a.res.run == nil {
			o.Log.Info("resuming from the run's journal, the durable record", "journal", a.res.journal)
		}
	}
	a.diffOpts = s.diffOptions()
	if o.PlanFile == "" {
		return nil
	}
	if a.saved, err = readSaved(o.PlanFile); err != nil {
		return err
	}
	if a.diffOpts, err = a.saved.DiffOptions(); err != nil {
		return fmt.Errorf("%s: %w", o.PlanFile, err)
	}
	if sel := o.Diff.Selection; !sel.Empty() && !sel.Equal(a.diffOpts.Selection) {
		return fmt.Errorf("%s was planned for another selection (%s), not %s; nothing was sent (apply it without --only/--provider/--kind, or plan again)",
			o.PlanFile, orEverything(a.diffOpts.Selection.String()), sel.String())
	}
	a.diffOpts.Fingerprints = s.fp
	a.diffOpts.ConfigApplied = s.appliedConfigs()
	a.diffOpts.RefreshConfig = o.Diff.RefreshConfig
	return nil
}

// authenticate logs in, then checks that the run resumed and the saved plan were made against
// this account and manifest.
func (a *applyRun) authenticate(ctx context.Context) error {
	o := a.o
	if err := o.Client.Authenticate(ctx); err != nil {
		return err
	}
	if a.res != nil {
		if err := checkResumable(a.res.prior, o.Client.BaseURL(), o.Account.Owner, o.Manifest.Digest, o.Replan); err != nil {
			return err
		}
	}
	if a.saved != nil {
		if err := a.saved.CheckTarget(o.Client.BaseURL(), o.Account.Owner, o.Manifest.Digest); err != nil {
			return fmt.Errorf("%s: refusing the saved plan: %w", o.PlanFile, err)
		}
	}
	return nil
}

// settleEarlier settles what earlier runs left in doubt (a dry run only lists it) and returns
// the users recent runs created, by externalId, with the requests still in doubt.
func (a *applyRun) settleEarlier(ctx context.Context) (map[string]string, []plan.Doubt, error) {
	o, res := a.o, a.res
	h, err := a.s.history()
	if err != nil {
		return nil, nil, err
	}
	priors := inDoubtPriors(h)
	if res != nil && res.run == nil {
		priors = append(priors, res.prior)
	}
	if journaledConfigs(a.diffOpts.ConfigApplied, priors, o.Log) && !o.DryRun && a.s.ws != nil {
		if err := a.s.ws.SaveAppliedConfigs(a.diffOpts.ConfigApplied); err != nil {
			return nil, nil, err
		}
	}
	created := maps.Clone(h.Created)
	if res != nil {
		maps.Copy(created, res.prior.Created)
	}
	if o.DryRun {
		return created, doubts(h), nil
	}
	ds := doubtfuls(h)
	if res != nil && res.run == nil {
		ds = append(ds, doubtful{prior: res.prior, journal: res.journal, gap: res.fromReport})
	} else if res != nil && res.fromReport && res.run.Meta.Settled {
		ds = append(ds, doubtful{prior: res.prior, gap: true})
	}
	found, err := settle(ctx, &o.Options, o.LookupWindow, o.Concurrency, a.runID, ds)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(created, found)
	return created, nil, nil
}

// plan reads Leaf, plans, compares the plan with the saved one, shows it and checks the
// valves. It returns the plan to apply (narrowed to a saved plan's changes that still hold)
// and the summary of the whole plan. The plan is lazy: its changes are computed for each pass
// over them (summarizing, comparing with a saved plan, showing, applying) and never held, so
// that the run holds its manifest and state but not its plan, and a change is garbage once
// applied.
func (a *applyRun) plan(ctx context.Context, created map[string]string, inDoubt []plan.Doubt) (*plan.Plan, *plan.Summary, error) {
	o, m := a.o, a.o.Manifest
	snap, reads, err := readState(ctx, o.Client, m, created, a.diffOpts.Selection, o.Log)
	if err != nil {
		return nil, nil, err
	}
	configReads, err := readConfigs(ctx, o.Client, m, snap, a.diffOpts, o.Log)
	if err != nil {
		return nil, nil, err
	}
	if o.OnLoaded != nil {
		o.OnLoaded()
	}
	p := plan.Lazy(m, snap, a.diffOpts)
	p.Reads, p.InDoubt = reads+configReads, inDoubt
	sum, err := p.Summarize()
	if err != nil {
		return nil, nil, err
	}
	if len(sum.Refused) > 0 {
		return nil, nil, sum.Refused
	}
	a.total = sum.Total().Changes()
	if a.saved != nil {
		if p, err = a.compareSaved(p); err != nil {
			return nil, nil, err
		}
	}
	if err := showPlan(o, p, sum, a.total); err != nil {
		return nil, nil, err
	}
	if err := sum.CheckValves(o.Valves); err != nil {
		return nil, nil, err
	}
	if o.DryRun {
		o.Log.Info("dry run: nothing was sent")
	}
	a.listPages = leaf.ReadRequests(len(snap.Users)+sum.CountsOf(plan.KindUser).Create, 0)
	return p, sum, nil
}

// compareSaved returns the plan narrowed to the saved plan's changes that still hold; a stale
// change refuses the run unless --skip-stale.
func (a *applyRun) compareSaved(p *plan.Plan) (*plan.Plan, error) {
	o := a.o
	st := a.saved.CompareSaved(p)
	for _, c := range st.Stale {
		o.Log.Warn("stale change in the saved plan", "change", c.Saved.ID, "why", c.Why)
	}
	if len(st.Stale) > 0 && !o.SkipStale {
		return nil, fmt.Errorf("%d change(s) of %s went stale since it was made; nothing was sent (re-plan, or --skip-stale to apply the rest)",
			len(st.Stale), o.PlanFile)
	}
	for _, id := range st.Extra {
		o.Log.Warn("a change not in the saved plan is not applied", "change", id)
	}
	a.skipped = staleRecords(st.Stale)
	a.total = st.Applied
	return p.Only(st.Keep), nil
}

// apply creates (or continues) the run's directory and applies the changes.
func (a *applyRun) apply(ctx context.Context, changes iter.Seq[*plan.Change], onRecord func(report.Record)) (*Result, error) {
	o, s := a.o, a.s
	run, err := s.runDir(o, a.runID, a.start, a.res)
	if err != nil {
		return nil, err
	}
	userReport := run.Meta.UserReport // set by runDir from this command's --report or --resume
	headerReport := userReport
	if headerReport == "" {
		headerReport = run.ReportPath()
	}
	journal, err := exec.OpenJournal(run.Journal(), report.Header{RunID: a.runID, Tool: o.Tool,
		ManifestDigest: o.Manifest.Digest, LeafURL: o.Client.BaseURL(), Account: o.Account.Owner, Report: headerReport})
	if err != nil {
		return nil, fmt.Errorf("cannot open the journal: %w", err)
	}
	defer journal.Close()
	rrun := report.Run{ID: a.runID, Tool: o.Tool, ManifestDigest: o.Manifest.Digest, LeafURL: o.Client.BaseURL(),
		Account: o.Account.Owner, Journal: run.Journal(), StartedAt: a.start.UTC()}
	var priorDone []report.Record
	if a.res != nil {
		rrun.Previous = a.res.prior.RunIDs
		priorDone = a.res.prior.Done()
	}
	rw := report.NewWriter(run.ReportPath(), rrun, priorDone)
	failed := failedGrowers{}
	for _, r := range a.skipped {
		r.RunID, r.StartedAt = a.runID, time.Now().UTC()
		if err := journal.Record(r); err != nil {
			return nil, err
		}
		rw.Add(r)
		failed.note(r)
	}
	rw.Start(o.ReportEvery)
	before := o.Client.Stats()
	applyStart := time.Now()
	out := a.send(ctx, changes, journal, func(r report.Record) {
		rw.Add(r)
		onRecord(r)
		failed.note(r)
	})
	stats := o.Client.Stats()
	rrun.EndedAt = time.Now().UTC()
	rrun.Interrupted = out.Interrupted
	var copies []string
	if userReport != "" {
		copies = append(copies, userReport)
	}
	summary, records, werr := rw.Close(rrun, report.RunStats{Requests: stats.Requests, Retries: report.WithReposts(stats.Retries, out.Reposts),
		Lookups: out.Lookups, Duration: rrun.EndedAt.Sub(a.start), Pace: s.savePace(o)}, copies...)
	fmt.Fprint(o.Out, summary.Text())
	o.Log.Info("apply finished", "run", run.Meta.RunID, "report", run.ReportPath(), "records", records,
		"requests", stats.Requests-before.Requests, "applySeconds", time.Since(applyStart).Round(time.Millisecond).Seconds())
	if werr != nil {
		o.Log.Error("cannot write the report", "err", werr)
	}
	result := &Result{RunID: run.Meta.RunID, Summary: summary, Report: run.ReportPath(), UserReport: userReport,
		Fatal: out.Fatal, WriteErr: werr, FailedGrowers: failed.byExt()}
	switch {
	case out.Interrupted && out.Fatal == nil:
		result.Status = workspace.RunInterrupted
	case out.Fatal != nil || summary.Failed > 0 || werr != nil:
		result.Status = workspace.RunFailed
	default:
		result.Status = workspace.RunSucceeded
	}
	result.Journal = endRun(s.ws, run, journal, result.Status, rrun.EndedAt, &summary, o.KeepRuns, o.Log)
	return result, nil
}

// send applies the changes through exec, with the progress display, and keeps the list lag
// the run saw for the next runs.
func (a *applyRun) send(ctx context.Context, changes iter.Seq[*plan.Change], journal *exec.Journal, onRecord func(report.Record)) *exec.Result {
	o := a.o
	var prog Progress = noProgress{}
	if o.NewProgress != nil {
		prog = o.NewProgress(a.total)
	}
	if o.OnApplying != nil {
		o.OnApplying()
	}
	out := exec.Apply(ctx, changes, o.Client, exec.Options{
		Concurrency: o.Concurrency, LookupWindow: o.LookupWindow, RunID: a.runID, Journal: journal,
		Stop: o.Stop, Log: o.Log, ListPages: a.listPages, OnWait: prog.Waiting, OnStart: prog.Start,
		OnRecord: func(r report.Record) {
			prog.Record(r)
			onRecord(r)
		},
	})
	prog.Finish()
	a.s.saveLearned(o, out.ObservedLag)
	return out
}

// runDir continues the directory of the run being resumed, or creates this run's. A journal
// resumed from outside the workspace is copied into the new run's directory first, so that the
// run's journal holds the whole history, as when it continues its own.
func (s *session) runDir(o *ApplyOptions, runID string, start time.Time, res *resumed) (*workspace.Run, error) {
	host, _ := os.Hostname()
	userReport, err := absOrEmpty(o.Report)
	if err != nil {
		return nil, err
	}
	journalCopy, err := absOrEmpty(o.Journal)
	if err != nil {
		return nil, err
	}
	if res != nil && userReport == "" {
		userReport = res.report
	}
	if res != nil && res.run != nil {
		r := res.run
		r.Meta.Status, r.Meta.Settled, r.Meta.PID, r.Meta.Host = workspace.RunRunning, false, os.Getpid(), host
		r.Meta.Resumes = append(r.Meta.Resumes, runID)
		r.Meta.FinishedAt = time.Time{}
		r.Meta.UserReport, r.Meta.JournalCopy = userReport, journalCopy
		return r, r.Save()
	}
	r, err := s.ws.NewRun(workspace.Meta{RunID: runID, StartedAt: start.UTC(), Status: workspace.RunRunning, Tool: o.Tool, Command: "apply",
		PID: os.Getpid(), Host: host, Manifest: absPath(o.ManifestPath), JournalCopy: journalCopy, UserReport: userReport})
	if err != nil {
		return nil, err
	}
	if res != nil && res.journal != "" {
		if err := copyFile(res.journal, r.Journal()); err != nil {
			return nil, fmt.Errorf("cannot take the resumed journal into the run's directory: %w", err)
		}
	}
	return r, nil
}

func absOrEmpty(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	return filepath.Abs(p)
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// readSaved reads a plan saved by plan --out.
func readSaved(path string) (*planview.View, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	v, err := planview.ReadSaved(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

type noProgress struct{}

func (noProgress) Start(*plan.Change) {}

func (noProgress) Record(report.Record) {}

func (noProgress) Waiting(string, time.Duration) {}
func (noProgress) Finish()                       {}

// useFacts applies what doctor measured of the account and what its runs learned, unless a
// flag says otherwise. The lookup window starts at its floor (exec.DefaultLookupWindow) and a
// measured lag only raises it: doctor's list lag, and the longest lag a recent run saw of its own
// creates, each used for workspace.FactsMaxAge. Only --lookup-window may go below the floor. A
// damaged facts file is ignored with a warning that names it; a missing PATCH is known in
// advance.
func (s *session) useFacts(o *ApplyOptions) error {
	var f *workspace.Facts
	var learned workspace.Learned
	if s.ws != nil {
		var err error
		if f, err = s.ws.Facts(); err != nil {
			o.Log.Warn("ignoring the account's facts: run leaf-import doctor again to measure them", "err", err)
			f = nil
		}
		if learned, err = s.ws.Learned(); err != nil {
			o.Log.Warn("ignoring what earlier runs learned of the account", "err", err)
		}
	}
	now := time.Now()
	if f != nil && !f.Fresh(now) {
		o.Log.Info("the account's facts are too old to use: run leaf-import doctor again to measure them",
			"measuredAt", f.MeasuredAt.Format(time.RFC3339), "maxAge", workspace.FactsMaxAge.String())
		f = nil
	}
	if o.LookupWindow <= 0 {
		o.LookupWindow = exec.DefaultLookupWindow
		if f != nil && LookupWindowFor(f.ListLagSeconds) > o.LookupWindow {
			o.LookupWindow = LookupWindowFor(f.ListLagSeconds)
			o.Log.Info("lookup window from the account's measured list lag (leaf-import doctor)", "listLagSeconds", f.ListLagSeconds,
				"lookupWindow", o.LookupWindow.String(), "measuredAt", f.MeasuredAt.Format(time.RFC3339))
		}
		if lag, ok := learned.FreshLag(now); ok && LookupWindowFor(lag.Seconds()) > o.LookupWindow {
			o.LookupWindow = LookupWindowFor(lag.Seconds())
			o.Log.Info("lookup window from the list lag an earlier run saw of its own creates", "listLag", lag.String(),
				"lookupWindow", o.LookupWindow.String(), "seenAt", learned.LagAt.Format(time.RFC3339))
		}
	}
	o.LookupWindow = min(o.LookupWindow, exec.MaxLookupWindow)
	switch {
	case o.Patch == PatchPut:
		o.Client.SetPatchUnsupported(true)
	case o.Patch == PatchPatch:
		o.Client.SetPatchUnsupported(false)
	case f != nil && !f.Patch:
		o.Client.SetPatchUnsupported(true)
		o.Log.Info("user updates use GET and PUT: leaf-import doctor found no PATCH on this account")
	}
	return nil
}

// savePace returns what the run's pacer learned of the account's rate limit, and for --rate
// auto keeps the pace it ended at as the next run's starting point.
func (s *session) savePace(o *ApplyOptions) *report.Pace {
	st := o.Client.Pacer().Stats()
	p := &report.Pace{Mode: "fixed", Final: st.Rate, Limit: st.Limit, RateLimited: st.RateLimited, LimitHits: st.LimitHits}
	if math.IsInf(p.Final, 1) {
		p.Final = 0
	}
	if st.Auto {
		p.Mode = "auto"
	} else {
		p.Ceiling = o.Rate
	}
	if !st.Auto || s.ws == nil || p.Final <= 0 {
		return p
	}
	next := p.Final // where the next run starts: under the limit found, else where this one ended
	if p.Limit > 0 {
		next = p.Limit * 0.95
	}
	err := s.ws.UpdateLearned(func(l *workspace.Learned) {
		l.PacePerSecond, l.LimitPerSecond, l.PaceAt = next, p.Limit, time.Now().UTC()
	})
	if err != nil {
		o.Log.Warn("cannot keep the pace this run learned", "err", err)
	}
	return p
}

// saveLearned keeps the longest list lag the run saw of its own creates, for the next runs.
func (s *session) saveLearned(o *ApplyOptions, observed time.Duration) {
	if s.ws == nil || observed <= 0 {
		return
	}
	err := s.ws.UpdateLearned(func(l *workspace.Learned) {
		if old, ok := l.FreshLag(time.Now()); ok && old >= observed {
			return
		}
		l.ListLagSeconds, l.LagAt = observed.Seconds(), time.Now().UTC()
	})
	if err != nil {
		o.Log.Warn("cannot keep the list lag this run saw", "err", err)
	}
}

func orEverything(s string) string {
	if s == "" {
		return "everything"
	}
	return s
}

// copyFile copies src to dst atomically, private to the user.
func copyFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return atomicfile.WriteFunc(dst, 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	})
}

// ListedChanges is the most changes apply lists before it applies them: a longer plan is shown
// as its summary (its review is `leaf-import plan`, or `show` of a saved plan).
const ListedChanges = 300

// showPlan prints the plan apply is about to apply: every change, or its summary when --quiet
// or when it has more than ListedChanges changes.
func showPlan(o *ApplyOptions, p *plan.Plan, sum *plan.Summary, total int) error {
	if !o.Quiet && total <= ListedChanges {
		_, err := planview.RenderText(p, o.Out, o.Rate)
		return err
	}
	why := "--quiet"
	if !o.Quiet {
		why = fmt.Sprintf("more than %d", ListedChanges)
	}
	_, err := fmt.Fprintf(o.Out, "%s\n(%d changes, not listed: %s; `leaf-import plan` lists them)\n", planview.SummaryLine(p, sum, o.Rate), total, why)
	return err
}
