package lifecycle

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// session is a command's view of the account: its workspace (nil when the owner is unknown
// and the command only reads) and the fingerprints of its secrets.
type session struct {
	o  Options
	ws *workspace.Workspace
	fp *plan.Fingerprinter
}

// open opens the account's workspace. A reader without a known owner goes on without one, its
// fingerprints keyed for this process only; a mutating run refuses (mutating is set).
func open(o Options, mutating bool) (*session, error) {
	s := &session{o: o}
	if o.Account.Owner == "" {
		if mutating {
			return nil, o.AccountErr
		}
		o.Log.Warn("the API owner is unknown, so the account's history is not read and fingerprints are keyed for this run only: " +
			"set --account or LEAF_ACCOUNT")
	} else {
		ws, err := workspace.Open(o.StateRoot, o.Account)
		if err != nil {
			return nil, err
		}
		s.ws = ws
	}
	var key []byte
	switch {
	case o.FingerprintKey != "":
		key = []byte(o.FingerprintKey)
	case s.ws != nil:
		k, err := s.ws.FingerprintKey()
		if err != nil {
			return nil, err
		}
		if mode := s.ws.KeyModeFixed(); mode != 0 {
			o.Log.Warn("the account's fingerprint key was readable by others: it is 0600 again (anyone who read it can match "+
				"fingerprints of short secrets; remove it to make a new key)", "file", filepath.Join(s.ws.Dir, "fingerprint.key"),
				"mode", fmt.Sprintf("%#o", mode))
		}
		key = k
	}
	s.fp = plan.NewFingerprinter(key)
	return s, nil
}

// OpenReader opens the account for a command that only reads: without a known owner it goes on
// with a warning (the account's history is not read, fingerprints are keyed for the run only).
func OpenReader(o Options) error {
	_, err := open(o, false)
	return err
}

// history reads what the account's earlier runs left (empty without a workspace).
func (s *session) history() (*workspace.History, error) {
	if s.ws == nil {
		return &workspace.History{Created: map[string]string{}}, nil
	}
	return s.ws.History(time.Now())
}

// diffOptions are the options with the account's fingerprints and its record of applied
// configs.
func (s *session) diffOptions() plan.Options {
	d := s.o.Diff
	d.Fingerprints = s.fp
	d.ConfigApplied = s.appliedConfigs()
	return d
}

// doubts lists the earlier runs' requests in doubt, for a plan to show.
func doubts(h *workspace.History) []plan.Doubt {
	var out []plan.Doubt
	for _, e := range h.InDoubt {
		for _, in := range e.Prior.Unresolved {
			out = append(out, plan.Doubt{ChangeID: in.ChangeID, Kind: in.Kind, Action: in.Action, Step: in.Step,
				ExternalID: in.ExternalID, Provider: in.Provider, AppName: in.AppName, RunID: in.RunID})
		}
	}
	return out
}

// lock takes the account lock for run runID, started at start.
func (s *session) lock(runID string, start time.Time) (*workspace.Lock, error) {
	host, _ := os.Hostname()
	return s.ws.Lock(workspace.Holder{RunID: runID, PID: os.Getpid(), Host: host, StartedAt: start.UTC()})
}

// doubtfuls are the earlier runs that settle must look at: their journal, or (when it is gone)
// the report that may miss their last requests.
func doubtfuls(h *workspace.History) []doubtful {
	ds := make([]doubtful, 0, len(h.InDoubt)+1)
	for _, e := range h.InDoubt {
		// A run known from its report alone, or from a damaged journal, may have sent requests
		// its record does not show: the next run waits out the list lag from its last write.
		d := doubtful{run: e.Run, prior: e.Prior, gap: e.FromReport || e.Damaged != nil, damaged: e.Damaged}
		if !e.FromReport {
			d.journal = e.Run.Journal()
		}
		ds = append(ds, d)
	}
	return ds
}

// inDoubtPriors are what the runs left in doubt say, oldest first.
func inDoubtPriors(h *workspace.History) []*report.Prior {
	es := slices.Clone(h.InDoubt)
	slices.SortStableFunc(es, func(a, b *workspace.Earlier) int { return a.Run.Meta.StartedAt.Compare(b.Run.Meta.StartedAt) })
	out := make([]*report.Prior, 0, len(es))
	for _, e := range es {
		if e.Prior != nil {
			out = append(out, e.Prior)
		}
	}
	return out
}
