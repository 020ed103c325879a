package lifecycle

import (
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
