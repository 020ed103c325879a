package workspace

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Workspace is one account's directory.
type Workspace struct {
	// Dir is the account's directory (mode 0700).
	Dir     string
	Account Account
}

// Root is the state directory: flag (--state-dir), else LEAF_IMPORT_STATE_DIR, else
// $XDG_STATE_HOME/leaf-import, else ~/.local/state/leaf-import.
func Root(flag string, getenv func(string) string) (string, error) {
	switch {
	case flag != "":
		return filepath.Abs(flag)
	case getenv("LEAF_IMPORT_STATE_DIR") != "":
		return filepath.Abs(getenv("LEAF_IMPORT_STATE_DIR"))
	case getenv("XDG_STATE_HOME") != "":
		return filepath.Join(getenv("XDG_STATE_HOME"), "leaf-import"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no state directory: set --state-dir or LEAF_IMPORT_STATE_DIR (%w)", err)
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "leaf-import"), nil
}

// Open opens (creating it, mode 0700) the workspace of account a under root.
func Open(root string, a Account) (*Workspace, error) {
	w, err := At(root, a)
	if err != nil {
		return nil, err
	}
	if err := mkdirPrivate(w.Dir); err != nil {
		return nil, fmt.Errorf("account workspace: %w", err)
	}
	return w, nil
}

// At names the workspace of account a under root without creating anything (for readers: a
// workspace that does not exist has no runs).
func At(root string, a Account) (*Workspace, error) {
	if a.Owner == "" {
		return nil, ErrNoAccount
	}
	return &Workspace{Dir: filepath.Join(root, a.dirName()), Account: a}, nil
}

// mkdirPrivate creates dir and its parents with mode 0700 and makes sure dir itself is 0700.
func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

const keyFile = "fingerprint.key"

// FingerprintKey returns the account's fingerprint key: 32 random bytes created once (mode
// 0600), so that one secret shows one fingerprint in every plan, apply and report of the
// account. Two processes creating it at once agree on one key: it is written to a temporary
// file and linked into place, which fails if another got there first.
func (w *Workspace) FingerprintKey() ([]byte, error) {
	path := filepath.Join(w.Dir, keyFile)
	if k, err := os.ReadFile(path); err == nil && len(k) == 32 {
		return k, nil
	} else if err == nil {
		return nil, fmt.Errorf("%s is damaged (%d bytes, not 32): remove it to make a new key (fingerprints in older plans will not match)", path, len(k))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(w.Dir, ".key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(k)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return os.ReadFile(path)
}
