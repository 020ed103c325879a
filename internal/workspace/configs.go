package workspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// AppliedConfigs is what the account's runs recorded as the config last applied to each Leaf
// user: user id -> the config's digest (leaf.Config.Digest). A plan trusts a matching record
// and does not read that user's config from Leaf (one request per user); a user without a
// record, or whose manifest config changed, is read. It holds no secret.
type AppliedConfigs map[string]string

const configsFile = "applied-config.json"

type configsDoc struct {
	FormatVersion int            `json:"formatVersion"`
	Users         AppliedConfigs `json:"users"`
}

// AppliedConfigs reads the record (empty when there is none).
func (w *Workspace) AppliedConfigs() (AppliedConfigs, error) {
	b, err := os.ReadFile(filepath.Join(w.Dir, configsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return AppliedConfigs{}, nil
	}
	if err != nil {
		return nil, err
	}
	var doc configsDoc
	if err := json.Unmarshal(b, &doc); err != nil || doc.FormatVersion != 1 {
		// A record that cannot be read is dropped: the next plan reads every config it needs,
		// which costs requests but never trusts a wrong record.
		return AppliedConfigs{}, nil
	}
	if doc.Users == nil {
		doc.Users = AppliedConfigs{}
	}
	return doc.Users, nil
}

// SaveAppliedConfigs replaces the record, atomically.
func (w *Workspace) SaveAppliedConfigs(a AppliedConfigs) error {
	b, err := json.Marshal(configsDoc{FormatVersion: 1, Users: a})
	if err != nil {
		return err
	}
	if err := writePrivate(filepath.Join(w.Dir, configsFile), append(b, '\n')); err != nil {
		return fmt.Errorf("recording the applied configs: %w", err)
	}
	return nil
}
