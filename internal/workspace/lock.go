package workspace

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// Holder says who holds the account lock.
type Holder struct {
	RunID     string    `json:"runId"`
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	StartedAt time.Time `json:"startedAt"`
}

func (h Holder) String() string {
	return fmt.Sprintf("run %s, pid %d on %s, started %s", h.RunID, h.PID, h.Host, h.StartedAt.UTC().Format(time.RFC3339))
}

// LockedError is returned when another run holds the account lock.
type LockedError struct {
	Account Account
	Holder  *Holder // nil when the holder could not be read
}

func (e *LockedError) Error() string {
	who := "holder unknown"
	if e.Holder != nil {
		who = e.Holder.String()
	}
	return fmt.Sprintf("another leaf-import run holds the lock of account %s (%s); nothing was sent", e.Account, who)
}

// Lock is the account lock, held by one mutating run at a time. It is an OS file lock
// (gofrs/flock: flock on Unix, LockFileEx on Windows) on the workspace's lock file, which the
// system releases when its process dies: a lock left by a killed run is simply taken over.
type Lock struct {
	fl     *flock.Flock
	holder string
}

const (
	lockFile   = "lock"
	holderFile = "lock.holder"
)

// Lock takes the account lock without waiting, or returns a *LockedError naming its holder.
func (w *Workspace) Lock(h Holder) (*Lock, error) {
	fl := flock.New(filepath.Join(w.Dir, lockFile), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("account lock: %w", err)
	}
	if !ok {
		held, _ := w.Holder()
		return nil, &LockedError{Account: w.Account, Holder: held}
	}
	l := &Lock{fl: fl, holder: filepath.Join(w.Dir, holderFile)}
	b, _ := json.Marshal(h)
	if err := writePrivate(l.holder, append(b, '\n')); err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("account lock: %w", err)
	}
	return l, nil
}

// Holder reads who holds (or last held) the lock; nil when nobody wrote it.
func (w *Workspace) Holder() (*Holder, error) {
	b, err := os.ReadFile(filepath.Join(w.Dir, holderFile))
	if err != nil {
		return nil, err
	}
	var h Holder
	if err := json.Unmarshal(b, &h); err != nil || h.PID == 0 {
		return nil, fmt.Errorf("lock holder unreadable")
	}
	return &h, nil
}

// Release unlocks. The lock file stays (removing it could let two runs lock two different
// files); the holder file goes, so that nobody is named as holding a free lock.
func (l *Lock) Release() {
	if l == nil {
		return
	}
	_ = os.Remove(l.holder)
	_ = l.fl.Unlock()
}
