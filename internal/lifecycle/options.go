package lifecycle

import (
	"io"
	"log/slog"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/metrics"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// Options are what plan and apply share.
type Options struct {
	Manifest *manifest.Manifest
	// Client talks to Leaf; it has not authenticated yet.
	Client *leaf.Client
	// Account is the Leaf account; AccountErr says why its owner is unknown (a token without
	// --account and without a subject claim). A mutating run refuses to start without one.
	Account    workspace.Account
	AccountErr error
	// StateRoot is the directory that holds every account's workspace.
	StateRoot string
	// FingerprintKey, when set (LEAF_IMPORT_FINGERPRINT_KEY), keys fingerprints instead of the
	// account's key.
	FingerprintKey string
	Diff           plan.Options
	Valves         plan.Valves
	// Rate is the rate the plan's estimate is computed at: --rate, or for --rate auto the pace
	// it starts from.
	Rate float64
	// AutoRate is set for --rate auto: an apply keeps the pace it learned for the next run.
	AutoRate bool
	// Tool names leaf-import and its version in journals and reports.
	Tool string
	Log  *slog.Logger
}

// Progress follows an apply: one call per finished change, then Finish.
type Progress interface {
	// Start says a change is being applied.
	Start(c *plan.Change)
	Record(report.Record)
	// Waiting says the run waits for d, and what for.
	Waiting(what string, d time.Duration)
	Finish()
}

// PatchMode says how apply updates users.
type PatchMode string

const (
	// PatchAuto: what doctor found of the account, else PATCH with a GET+PUT fallback.
	PatchAuto PatchMode = "auto"
	// PatchPatch: PATCH (with the fallback), whatever doctor found.
	PatchPatch PatchMode = "patch"
	// PatchPut: GET and PUT from the start.
	PatchPut PatchMode = "put"
)

// ApplyOptions configure Apply.
type ApplyOptions struct {
	Options
	ManifestPath string
	// Quiet shows the plan's summary instead of every change; a plan of more than
	// ListedChanges changes is shown so anyway (plan lists them).
	Quiet bool
	// PlanFile is a plan saved by plan --out, applied instead of a fresh plan's changes.
	PlanFile  string
	SkipStale bool
	DryRun    bool
	// Concurrency is the number of workers; LookupWindow bounds the re-checks for a user whose
	// create answer was lost (0: the account's measured list lag with a margin when doctor
	// measured it, else exec.DefaultLookupWindow).
	Concurrency  int
	LookupWindow time.Duration
	// Patch says how users are updated.
	Patch PatchMode
	// Report is the --report copy the user asked for ("" for none); Journal the --journal file
	// ("" for the run directory's).
	Report  string
	Journal string
	// Resume names the run to continue: a run id, its journal, or a report.
	Resume string
	Replan bool
	// KeepRuns is how many runs the workspace keeps (0 keeps all).
	KeepRuns int
	// ReportEvery is how often the workspace report is rewritten during the run.
	ReportEvery time.Duration
	// Out receives the plan and the summary.
	Out io.Writer
	// Stop, once closed, stops scheduling; cancelling ctx aborts the requests in flight.
	Stop <-chan struct{}
	// OnLoaded is called once the manifest, the state and any saved plan are read, before the
	// plan's passes (cmd bounds memory there, and again at OnApplying).
	OnLoaded func()
	// OnApplying is called once the run starts changing Leaf (a signal then drains instead of
	// aborting).
	OnApplying func()
	// NewProgress starts the progress display for total changes (nil for none).
	NewProgress func(total int) Progress
}

// Result is how an apply ended.
type Result struct {
	RunID string
	// FailedGrowers are the growers with a change that failed, is pending, or was skipped
	// because one before it failed: externalId -> why (the first such record's error).
	FailedGrowers map[string]string
	// Status is how the run ended (succeeded, failed or interrupted).
	Status  workspace.RunStatus
	Summary report.Summary
	// Report is the run's report in the workspace; UserReport the --report copy ("" for none);
	// Journal the run's journal.
	Report     string
	UserReport string
	Journal    string
	// Fatal is the error that stopped the run (authentication, the journal).
	Fatal error
	// WriteErr is set when the report could not be written.
	WriteErr error
}

// Metrics are the figures of the run for --metrics-file and --metrics-push. outcome is
// succeeded, failed, interrupted or attention.
func (r *Result) Metrics(started time.Time, outcome metrics.Outcome) metrics.Run {
	m := metrics.Run{Started: started, Duration: time.Duration(r.Summary.DurationMs) * time.Millisecond,
		Outcome: outcome, Requests: r.Summary.Requests, Retries: r.Summary.Retries, Lookups: r.Summary.Lookups,
		RateLimited: r.Summary.Retries["429"], Attention: map[string]int{"conflict": r.Summary.Conflicts, "notice": r.Summary.Notices}}
	for k, actions := range r.Summary.ByKind {
		for a, c := range actions {
			for st, n := range map[report.Status]int{report.StatusSucceeded: c.Succeeded, report.StatusFailed: c.Failed,
				report.StatusSkipped: c.Skipped, report.StatusPending: c.Pending} {
				m.Changes = append(m.Changes, metrics.Change{Kind: string(k), Action: string(a), Status: string(st), Count: n})
			}
		}
	}
	return m
}
