package workspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
	"github.com/leaf-import/leaf-import/internal/report"
)

// RunStatus is how a run stands in the history.
type RunStatus string

const (
	RunRunning     RunStatus = "running"
	RunSucceeded   RunStatus = "succeeded"
	RunFailed      RunStatus = "failed"
	RunInterrupted RunStatus = "interrupted"
	// RunCrashed: the run's metadata says running, and no live process holds the lock for it
	// (it was killed, or its machine went down).
	RunCrashed RunStatus = "crashed"
)

// Meta is a run's metadata (run.json in its directory), written when the run starts and again
// when it ends. Paths are absolute.
type Meta struct {
	RunID      string    `json:"runId"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	Status     RunStatus `json:"status"`
	Tool       string    `json:"tool"`
	// Command is the command that made the run: apply (also when empty, as older runs wrote
	// it) or link-keys.
	Command  string `json:"command,omitempty"`
	PID      int    `json:"pid"`
	Host     string `json:"host"`
	Manifest string `json:"manifest"`
	// JournalCopy is where --journal asked for a copy of the run's journal ("" for none), and
	// UserReport where --report asked for a copy of its report. Both are written down for
	// people and for `--resume FILE` to match; neither is ever read, written or opened from
	// here: the run's own files are derived from its directory (Journal, ReportPath), so an
	// edited run.json cannot point a later run at another file.
	JournalCopy string `json:"journalCopy,omitempty"`
	UserReport  string `json:"userReport,omitempty"`
	// Resumes lists the run ids of the segments that continued this run (--resume).
	Resumes []string `json:"resumes,omitempty"`
	// Settled is set once every intent in the journal has an outcome: nothing of this run is
	// in doubt.
	Settled bool            `json:"settled"`
	Summary *report.Summary `json:"summary,omitempty"`
}

// Run is one run directory of the workspace.
type Run struct {
	Dir  string
	Meta Meta
}

const (
	runsDir    = "runs"
	metaFile   = "run.json"
	reportFile = "report.json"
	journalDef = "journal.jsonl"
)

// ReportPath is the run's report in the workspace (always JSON).
func (r *Run) ReportPath() string { return filepath.Join(r.Dir, reportFile) }

// Journal is the run's journal, always journal.jsonl in the run directory.
func (r *Run) Journal() string { return filepath.Join(r.Dir, journalDef) }

// NewRun creates the directory of a run about to change Leaf and writes its metadata. It is
// called only once the run is sure to send a mutating request, so that a run that fails before
// it changes anything leaves no run directory.
func (w *Workspace) NewRun(m Meta) (*Run, error) {
	dir := filepath.Join(w.Dir, runsDir, m.RunID)
	if err := mkdirPrivate(filepath.Dir(dir)); err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	r := &Run{Dir: dir, Meta: m}
	return r, r.Save()
}

// Save writes the run's metadata atomically.
func (r *Run) Save() error {
	b, err := json.MarshalIndent(r.Meta, "", "  ")
	if err != nil {
		return err
	}
	return writePrivate(filepath.Join(r.Dir, metaFile), append(b, '\n'))
}

func writePrivate(path string, data []byte) error { return atomicfile.Write(path, data, 0o600) }

// Runs lists the workspace's runs, newest first. A run directory without readable metadata is
// skipped (it is being created, or is not leaf-import's).
func (w *Workspace) Runs() ([]*Run, error) {
	entries, err := os.ReadDir(filepath.Join(w.Dir, runsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Run
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(w.Dir, runsDir, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, metaFile))
		if err != nil {
			continue
		}
		var m Meta
		if json.Unmarshal(b, &m) != nil || m.RunID != e.Name() {
			continue
		}
		out = append(out, &Run{Dir: dir, Meta: m})
	}
	slices.SortFunc(out, func(a, b *Run) int {
		if c := b.Meta.StartedAt.Compare(a.Meta.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Meta.RunID, a.Meta.RunID)
	})
	return out, nil
}

// Status is the run's status as a reader sees it: a run whose metadata says running is crashed
// unless a live process holds the account lock for it.
func (w *Workspace) Status(r *Run) RunStatus {
	if r.Meta.Status != RunRunning {
		return r.Meta.Status
	}
	h, err := w.Holder()
	if err == nil && h.RunID == r.Meta.RunID && processAlive(h) {
		return RunRunning
	}
	return RunCrashed
}

// FindRun finds a run by id, or by one of its files: its journal, its workspace report or the
// --report copy the user asked for. It returns nil when no run matches.
func (w *Workspace) FindRun(ref string) (*Run, error) {
	runs, err := w.Runs()
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(ref)
	for _, r := range runs {
		if ref == r.Meta.RunID || slices.Contains(r.Meta.Resumes, ref) {
			return r, nil
		}
		for _, p := range []string{r.Journal(), r.ReportPath(), r.Meta.JournalCopy, r.Meta.UserReport, r.Dir} {
			if p != "" && samePath(p, abs) {
				return r, nil
			}
		}
	}
	return nil, nil
}

func samePath(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ia, err1 := os.Stat(a)
	ib, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(ia, ib)
}

// Prune removes the oldest runs beyond keep (0 keeps every run). A run still in doubt (not
// settled) or running is never removed, nor is the run named by except, nor the newest run of
// each command that succeeded (LastSuccess reads it, however many failed runs follow).
func (w *Workspace) Prune(keep int, except string) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	runs, err := w.Runs()
	if err != nil {
		return nil, err
	}
	keepSuccess := map[string]bool{} // run ids, and "cmd:"+command once its newest success is kept
	for _, r := range runs {         // newest first
		if r.Meta.Status == RunSucceeded && !keepSuccess["cmd:"+r.command()] {
			keepSuccess["cmd:"+r.command()] = true
			keepSuccess[r.Meta.RunID] = true
		}
	}
	var removed []string
	for i, r := range runs {
		if i < keep || r.Meta.RunID == except || !r.Meta.Settled || w.Status(r) == RunRunning || keepSuccess[r.Meta.RunID] {
			continue
		}
		if err := os.RemoveAll(r.Dir); err != nil {
			return removed, err
		}
		removed = append(removed, r.Meta.RunID)
	}
	return removed, nil
}

// command is the command that made the run.
func (r *Run) command() string {
	if r.Meta.Command == "" {
		return "apply"
	}
	return r.Meta.Command
}

// LastSuccess is when the newest run of command that succeeded ended (zero: none is known).
func (w *Workspace) LastSuccess(command string) time.Time {
	runs, err := w.Runs()
	if err != nil {
		return time.Time{}
	}
	var last time.Time
	for _, r := range runs {
		if r.command() == command && r.Meta.Status == RunSucceeded && r.Meta.FinishedAt.After(last) {
			last = r.Meta.FinishedAt
		}
	}
	return last
}
