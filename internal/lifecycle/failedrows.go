package lifecycle

import (
	"fmt"
	"sync"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/report"
)

// failedGrowers collects, from the records of a run (its workers call note), the growers a
// --failed-rows file lists.
type failedGrowers struct {
	mu  sync.Mutex
	why map[string]string
}

func (f *failedGrowers) note(r report.Record) {
	if r.ExternalID == "" {
		return // an app: not a grower's row
	}
	switch {
	case r.Status == report.StatusFailed, r.Status == report.StatusPending,
		r.Status == report.StatusSkipped && r.ErrorCode == report.CodeDependency:
	default:
		return
	}
	reason := r.Error
	if reason == "" {
		reason = string(r.Status)
		if r.ErrorCode != "" {
			reason += ": " + r.ErrorCode
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.why == nil {
		f.why = map[string]string{}
	}
	if _, seen := f.why[r.ExternalID]; !seen {
		f.why[r.ExternalID] = string(r.Kind) + " " + string(r.Action) + ": " + reason
	}
}

func (f *failedGrowers) byExt() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.why
}

// WriteFailedRows writes path, a CSV manifest of the growers of failed (a Result's
// FailedGrowers) as the manifest at manifestPath writes them, references unresolved, with
// manifest.FailedRowsColumn saying why: fixed, it is fed back to apply only those growers. It is
// written even when nothing failed (a header only), so that a file left by an earlier run never
// passes for this one's. Mode 0600: a literal secret of the manifest is copied as written.
// digest is the manifest the run applied: a manifest rewritten during the run (a nightly export
// landing) is refused, so that the rows are never another version's.
func WriteFailedRows(path, manifestPath, digest string, src manifest.Source, failed map[string]string) error {
	m, problems := manifest.LoadWith(manifestPath, src, manifest.ReadOptions{Raw: true, Only: func(ext string) bool {
		_, ok := failed[ext]
		return ok
	}})
	if m == nil {
		return fmt.Errorf("--failed-rows: reading %s again: %w", manifestPath, problems)
	}
	if m.Digest != digest {
		return fmt.Errorf("--failed-rows: %s changed while the run applied it: no rows written (the run's report lists the failed changes)", manifestPath)
	}
	data, err := manifest.FailedRowsCSV(m.Growers, failed)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("--failed-rows: %w", err)
	}
	return nil
}
