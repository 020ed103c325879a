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
	// keyModeFixed is the mode the fingerprint key had when it was made 0600 (0: it was).
	keyModeFixed os.FileMode
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

// KeyModeFixed is set when FingerprintKey found the key readable by others and made it 0600.
func (w *Workspace) KeyModeFixed() os.FileMode { return w.keyModeFixed }

// keepPrivate makes a file of the workspace that others can read 0600 again, noting the mode it
// had.
func (w *Workspace) keepPrivate(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if mode := info.Mode().Perm(); mode&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return fmt.Errorf("%s is readable by others (mode %#o) and cannot be made 0600: %w", path, mode, err)
		}
		w.keyModeFixed = mode
	}
	return nil
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
//
// A key file that others can read (a copy or a restore that lost its mode) is made 0600 again:
// KeyModeFixed says so, for the caller to tell.
func (w *Workspace) FingerprintKey() ([]byte, error) {
	path := filepath.Join(w.Dir, keyFile)
	if k, err := os.ReadFile(path); err == nil && len(k) == 32 {
		if err := w.keepPrivate(path); err != nil {
			return nil, err
		}
		return k, nil
	} else if err == nil {
		return nil, fmt.Errorf("%s is damaged (%d bytes, not 32): remove it to make a new key (fingerprints in older plans will not match)", path, len(k))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, err)
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
	k, err = os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
