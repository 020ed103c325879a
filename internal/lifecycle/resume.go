package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// resumed is the run --resume continues.
type resumed struct {
	// run is the workspace run it continues; nil for files from outside the workspace (a
	// journal or report of an older leaf-import, or one the user moved).
	run   *workspace.Run
	prior *report.Prior
	// journal is the journal the run continues ("" when it is gone): its own, or a file from
	// outside the workspace that the new run's journal starts as a copy of.
	journal string
	// report is the report file the user named in --resume, rewritten as the --report copy
	// unless --report names another ("" for none).
	report string
	// fromReport is set when prior was read from a report: requests sent after the report's
	// last write are not in it.
	fromReport bool
}

// locate finds what ref names: a run of the workspace (by id or by one of its files), else a
// journal or report file.
func locate(ws *workspace.Workspace, ref string) (*resumed, error) {
	if ws != nil {
		r, err := ws.FindRun(ref)
		if err != nil {
			return nil, err
		}
		if r != nil {
			e, err := ws.Earlier(r)
			if err == nil && e.Damaged != nil {
				err = e.Damaged
			}
			if err != nil {
				return nil, damagedResume(fmt.Errorf("cannot resume run %s: %w", r.Meta.RunID, err))
			}
			// The --report copy is rewritten only when the user named it: a path is never taken
			// from run.json.
			res := &resumed{run: r, prior: e.Prior, fromReport: e.FromReport}
			if abs, _ := filepath.Abs(ref); r.Meta.UserReport != "" && filepath.Clean(abs) == filepath.Clean(r.Meta.UserReport) {
				res.report = abs
			}
			if !e.FromReport {
				res.journal = r.Journal()
			}
			return res, nil
		}
	}
	_, err := os.Stat(ref)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot resume %q: no run of this account has that id or file, and there is no such file (leaf-import runs lists the runs)", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot resume: %w", err)
	}
	abs, _ := filepath.Abs(ref)
	if report.IsJournal(ref) {
		p, err := report.LoadPrior(ref)
		if err != nil {
			return nil, damagedResume(fmt.Errorf("cannot resume: %w", err))
		}
		return &resumed{prior: p, journal: abs}, nil
	}
	rep, err := report.Load(ref)
	if err != nil {
		return nil, fmt.Errorf("cannot resume: %s: %w", ref, err)
	}
	if j := rep.Run.Journal; j != "" && report.IsJournal(j) {
		p, err := report.LoadPrior(j)
		if err != nil {
			return nil, damagedResume(fmt.Errorf("cannot resume: %w", err))
		}
		return &resumed{prior: p, journal: j, report: abs}, nil
	}
	return &resumed{prior: report.PriorFromReport(rep), report: abs, fromReport: true}, nil
}

// damagedResume adds to the refusal of a damaged journal what to do instead.
func damagedResume(err error) error {
	var corrupt *report.ErrCorrupt
	if !errors.As(err, &corrupt) {
		return err
	}
	return fmt.Errorf("%w; nothing was sent. A damaged journal cannot say which requests its run sent: run apply without "+
		"--resume, which treats that run as wholly in doubt (it waits out Leaf's list lag from the run's last write and reads Leaf "+
		"afresh before creating anything)", err)
}

// gapUntil is when Leaf's lists show every user a run read back from its report alone may have
// created: the report is written every few seconds, so requests sent after its last write are
// unknown. A report written at the run's end covers every request but the list lag after it; a
// report cut off by a kill says nothing of the time until the kill, so the wait counts from now.
func gapUntil(p *report.Prior, now time.Time, window time.Duration) time.Time {
	if !p.EndedAt.IsZero() {
		return p.EndedAt.Add(window)
	}
	return now.Add(window)
}

// checkResumable refuses to resume a run made against another Leaf or account, or (without
// --replan) from another manifest.
func checkResumable(prior *report.Prior, leafURL, account, digest string, replan bool) error {
	switch {
	case prior.LeafURL != "" && leaf.CanonicalURL(prior.LeafURL) != leaf.CanonicalURL(leafURL):
		return fmt.Errorf("cannot resume: the run was made against %s, not %s", prior.LeafURL, leafURL)
	case prior.Account != "" && account != "" && workspace.NormalizeOwner(prior.Account) != account:
		return fmt.Errorf("cannot resume: the run was made for API owner %q, not %q", prior.Account, account)
	case prior.ManifestDigest != "" && prior.ManifestDigest != digest && !replan:
		return fmt.Errorf("cannot resume: the manifest changed since the run (digest %s, now %s); use --replan to apply the new manifest",
			prior.ManifestDigest, digest)
	}
	return nil
}
