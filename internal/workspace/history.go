package workspace

import (
	"errors"
	"io/fs"
	"time"

	"github.com/leaf-import/leaf-import/internal/report"
)

// CreatedHorizon is how long the users a run created count as existing while Leaf's lists do
// not show them. Lists lag by seconds; a day covers any lag with room to spare, and a user
// deleted since costs one GET that finds it gone.
const CreatedHorizon = 24 * time.Hour

// Earlier is what one earlier run left, as the next run needs it.
type Earlier struct {
	Run   *Run
	Prior *report.Prior
	// FromReport is set when the run's journal is gone and Prior was read from its report,
	// which can lag the run's last requests by a few seconds.
	FromReport bool
	// Damaged is the error that says how the run's journal is damaged (nil when it is not):
	// Prior then holds what its lines before the damage say, and the run may have sent
	// requests it does not show.
	Damaged error
}

// History is what the account's earlier runs left that the next run must know.
type History struct {
	// InDoubt are the runs not yet settled (crashed, killed, or with requests whose answer was
	// lost), oldest first.
	InDoubt []*Earlier
	// Created maps an externalId to the Leaf user a recent run created (or found after an
	// ambiguous create): it exists even while a lagging list does not show it.
	Created map[string]string
}

// History reads the runs that are in doubt and those that started less than CreatedHorizon
// before now. A damaged journal is not an error here: its run is in doubt as a whole (see
// Earlier.Damaged), and the next apply waits out Leaf's list lag before it reads Leaf.
func (w *Workspace) History(now time.Time) (*History, error) {
	h := &History{Created: map[string]string{}}
	runs, err := w.Runs()
	if err != nil {
		return nil, err
	}
	for i := len(runs) - 1; i >= 0; i-- { // oldest first: a later run's creates win
		r := runs[i]
		recent := now.Sub(r.Meta.StartedAt) < CreatedHorizon
		if r.Meta.Settled && !recent {
			continue
		}
		e, err := w.Earlier(r)
		if err != nil {
			return nil, err
		}
		if recent {
			for ext, id := range e.Prior.Created {
				h.Created[ext] = id
			}
			for ext, id := range h.Created {
				if e.Prior.Deleted[id] {
					delete(h.Created, ext)
				}
			}
		}
		if !r.Meta.Settled {
			h.InDoubt = append(h.InDoubt, e)
		}
	}
	return h, nil
}

// Earlier reads what run r left: from its journal, or from its report when the journal is
// gone. A run with neither sent nothing.
func (w *Workspace) Earlier(r *Run) (*Earlier, error) {
	e := &Earlier{Run: r}
	p, err := report.LoadPrior(r.Journal())
	var corrupt *report.ErrCorrupt
	if errors.As(err, &corrupt) && p != nil {
		e.Prior, e.Damaged = p, err
		return e, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		e.FromReport = true
		p, err = report.LoadPrior(r.ReportPath())
		if errors.Is(err, fs.ErrNotExist) {
			p, err = report.PriorFromReport(&report.Report{Run: report.Run{ID: r.Meta.RunID}}), nil
		}
	}
	if err != nil {
		return nil, err
	}
	e.Prior = p
	return e, nil
}
