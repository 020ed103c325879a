package lifecycle

import (
	"fmt"
	"time"

	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// RunEntry is one run of the account's history, as `leaf-import runs` shows it.
type RunEntry struct {
	RunID      string              `json:"runId"`
	StartedAt  time.Time           `json:"startedAt"`
	FinishedAt *time.Time          `json:"finishedAt"`
	Status     workspace.RunStatus `json:"status"`
	Summary    *report.Summary     `json:"summary"`
	// Report is the run's report in the workspace; UserReport the --report copy, if any.
	Report     string `json:"report"`
	UserReport string `json:"userReport,omitempty"`
	// Journal is the run's journal; Resumes the ids of the runs that continued it.
	Journal string   `json:"journal"`
	Resumes []string `json:"resumes,omitempty"`
}

// Runs lists the account's runs, newest first. It writes nothing.
func Runs(root string, a workspace.Account) ([]RunEntry, error) {
	ws, err := workspace.At(root, a)
	if err != nil {
		return nil, err
	}
	runs, err := ws.Runs()
	if err != nil {
		return nil, err
	}
	out := make([]RunEntry, 0, len(runs))
	for _, r := range runs {
		e := RunEntry{RunID: r.Meta.RunID, StartedAt: r.Meta.StartedAt, Status: ws.Status(r), Summary: r.Meta.Summary,
			Report: r.ReportPath(), UserReport: r.Meta.UserReport, Journal: r.Journal(), Resumes: r.Meta.Resumes}
		if !r.Meta.FinishedAt.IsZero() {
			t := r.Meta.FinishedAt
			e.FinishedAt = &t
		}
		out = append(out, e)
	}
	return out, nil
}

// LastSuccess is when the newest run of command (apply, link-keys) of the account that
// succeeded ended, read from the workspace without creating it (zero: none is known).
func LastSuccess(root string, a workspace.Account, command string) time.Time {
	ws, err := workspace.At(root, a)
	if err != nil {
		return time.Time{}
	}
	return ws.LastSuccess(command)
}

// RunReport reads the report of one run of the account, named by its id or one of its files,
// and says how the run stands (succeeded, failed, crashed, ...).
func RunReport(root string, a workspace.Account, ref string) (*report.Report, workspace.RunStatus, error) {
	ws, err := workspace.At(root, a)
	if err != nil {
		return nil, "", err
	}
	r, err := ws.FindRun(ref)
	if err != nil {
		return nil, "", err
	}
	if r == nil {
		return nil, "", fmt.Errorf("no run of %s has the id or file %q (leaf-import runs lists them)", a, ref)
	}
	rep, err := report.Load(r.ReportPath())
	if err != nil {
		return nil, "", fmt.Errorf("run %s: %w", r.Meta.RunID, err)
	}
	return rep, ws.Status(r), nil
}
