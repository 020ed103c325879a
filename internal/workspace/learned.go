package workspace

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"
)

// Learned is what the account's runs measured of Leaf while they ran, kept as the starting point
// of the next run: the list lag their own creates showed, and the pace the account's rate limit
// allowed. Like facts, it is used for FactsMaxAge.
type Learned struct {
	// LagAt is when ListLagSeconds was last raised; ListLagSeconds the longest list lag a run
	// observed of its own creates.
	LagAt          time.Time `json:"lagAt,omitzero"`
	ListLagSeconds float64   `json:"listLagSeconds,omitempty"`
	// PaceAt is when a --rate auto run last ended; PacePerSecond the pace it ended at, and
	// LimitPerSecond the account's limit it found (0: none met).
	PaceAt         time.Time `json:"paceAt,omitzero"`
	PacePerSecond  float64   `json:"pacePerSecond,omitempty"`
	LimitPerSecond float64   `json:"limitPerSecond,omitempty"`
}

const learnedFile = "learned.json"

// Learned reads what the account's runs learned (the zero value when none did). A damaged file
// is a *FactsError naming it.
func (w *Workspace) Learned() (Learned, error) {
	var l Learned
	path := filepath.Join(w.Dir, learnedFile)
	if ok, err := readJSON(path, &l); !ok || err != nil {
		return Learned{}, err
	}
	if err := checkLag(l.ListLagSeconds); err != nil {
		return Learned{}, &FactsError{Path: path, Err: fmt.Errorf("listLagSeconds: %w", err)}
	}
	if l.PacePerSecond < 0 || l.LimitPerSecond < 0 || l.PacePerSecond > 1e6 || l.LimitPerSecond > 1e6 {
		return Learned{}, &FactsError{Path: path, Err: fmt.Errorf("pacePerSecond or limitPerSecond out of range")}
	}
	return l, nil
}

// FreshLag returns the lag learned, when it was learned less than FactsMaxAge before now.
func (l Learned) FreshLag(now time.Time) (time.Duration, bool) {
	if l.ListLagSeconds <= 0 || !fresh(l.LagAt, now) {
		return 0, false
	}
	return time.Duration(l.ListLagSeconds * float64(time.Second)), true
}

// FreshPace returns the pace learned, when it was learned less than FactsMaxAge before now.
func (l Learned) FreshPace(now time.Time) (pace, limit float64, ok bool) {
	if l.PacePerSecond <= 0 || !fresh(l.PaceAt, now) {
		return 0, 0, false
	}
	return l.PacePerSecond, l.LimitPerSecond, true
}

// UpdateLearned reads what was learned, lets update change it, and writes it back. The caller
// holds the account lock.
func (w *Workspace) UpdateLearned(update func(*Learned)) error {
	l, err := w.Learned()
	if err != nil {
		l = Learned{} // a damaged file is replaced
	}
	update(&l)
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return writePrivate(filepath.Join(w.Dir, learnedFile), append(b, '\n'))
}
