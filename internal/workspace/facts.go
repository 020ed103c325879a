package workspace

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
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

// Facts reads the account's facts; nil when doctor never ran.
func (w *Workspace) Facts() (*Facts, error) {
	b, err := os.ReadFile(filepath.Join(w.Dir, factsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f Facts
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// SaveFacts records the account's facts.
func (w *Workspace) SaveFacts(f Facts) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return writePrivate(filepath.Join(w.Dir, factsFile), append(b, '\n'))
}
