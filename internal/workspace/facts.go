package workspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// Facts are what leaf-import doctor observed of the account, used by its later runs.
type Facts struct {
	MeasuredAt time.Time `json:"measuredAt"`
	// ListLagSeconds is how long a new user took to show in the paged user list.
	ListLagSeconds float64 `json:"listLagSeconds"`
	// Patch says whether PATCH /users/{id} works (false: updates use GET and PUT).
	Patch bool `json:"patch"`
}

const factsFile = "facts.json"

// FactsMaxAge is how long a measurement is used: a lag measured on a quiet Sunday says little
// of a busy month later.
const FactsMaxAge = 7 * 24 * time.Hour

// MaxListLag is the longest list lag a fact may state: beyond it the file is not believed.
const MaxListLag = time.Hour

// FactsError says why a facts or learned file of the workspace is not used; it names the file.
type FactsError struct {
	Path string
	Err  error
}

func (e *FactsError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *FactsError) Unwrap() error { return e.Err }

// Facts reads the account's facts; nil when doctor never ran. A file that cannot be read as
// facts, or that states a negative or absurd lag, is a *FactsError naming it.
func (w *Workspace) Facts() (*Facts, error) {
	var f Facts
	path := filepath.Join(w.Dir, factsFile)
	if ok, err := readJSON(path, &f); !ok || err != nil {
		return nil, err
	}
	if err := checkLag(f.ListLagSeconds); err != nil {
		return nil, &FactsError{Path: path, Err: fmt.Errorf("listLagSeconds: %w", err)}
	}
	return &f, nil
}

// Fresh reports whether the facts were measured less than FactsMaxAge before now (and not in
// the future).
func (f *Facts) Fresh(now time.Time) bool { return fresh(f.MeasuredAt, now) }

func fresh(at, now time.Time) bool {
	age := now.Sub(at)
	return !at.IsZero() && age >= -time.Minute && age < FactsMaxAge
}

func checkLag(seconds float64) error {
	switch {
	case math.IsNaN(seconds) || math.IsInf(seconds, 0):
		return errors.New("not a number")
	case seconds < 0:
		return fmt.Errorf("%g is negative", seconds)
	case seconds > MaxListLag.Seconds():
		return fmt.Errorf("%g s is more than %s: not believed", seconds, MaxListLag)
	}
	return nil
}

// readJSON decodes the file at path into v. ok is false (and err nil) when there is no file; a
// file that cannot be read or decoded is a *FactsError naming it.
func readJSON(path string, v any) (ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, &FactsError{Path: path, Err: err}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, &FactsError{Path: path, Err: fmt.Errorf("not valid JSON: %w", leaf.JSONErrorWithoutInput(err))}
	}
	return true, nil
}

// SaveFacts records the account's facts.
func (w *Workspace) SaveFacts(f Facts) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return writePrivate(filepath.Join(w.Dir, factsFile), append(b, '\n'))
}
