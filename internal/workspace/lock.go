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

// Lock is the account lock, held by one mutating run at a time. It is two OS file locks
// (gofrs/flock: flock on Unix, LockFileEx on Windows), which the system releases when its
// process dies, so that a lock left by a killed run is simply taken over:
//   - the owner's lock, in the state directory's owners/ folder: one per API owner whatever the
//     URL, so that two spellings of one Leaf that canonicalization cannot see through (a DNS
//     alias, an IP address of the real host) still share a lock. A lock per owner across URLs
//     locks more than needed only when one owner name is used on two Leafs at once;
//   - the account's lock, in its workspace.
type Lock struct {
	locks   []*flock.Flock
	holders []string
}

const (
	lockFile   = "lock"
	holderFile = "lock.holder"
	ownersDir  = "owners"
)

// ownerLockPaths are the lock and holder files of the account's owner.
func (w *Workspace) ownerLockPaths() (lock, holder string) {
	base := filepath.Join(filepath.Dir(w.Dir), ownersDir, w.Account.ownerFileName())
	return base + ".lock", base + ".holder"
}

// Lock takes the account lock without waiting, or returns a *LockedError naming its holder.
func (w *Workspace) Lock(h Holder) (*Lock, error) {
	ownerLock, ownerHolder := w.ownerLockPaths()
	if err := mkdirPrivate(filepath.Dir(ownerLock)); err != nil {
		return nil, fmt.Errorf("account lock: %w", err)
	}
	l := &Lock{}
	for _, p := range [][2]string{{ownerLock, ownerHolder}, {filepath.Join(w.Dir, lockFile), filepath.Join(w.Dir, holderFile)}} {
		fl := flock.New(p[0], flock.SetPermissions(0o600))
		ok, err := fl.TryLock()
		if err != nil {
			l.Release()
			return nil, fmt.Errorf("account lock: %w", err)
		}
		if !ok {
			l.Release()
			held, _ := readHolder(p[1])
			return nil, &LockedError{Account: w.Account, Holder: held}
		}
		l.locks = append(l.locks, fl)
		b, _ := json.Marshal(h)
		if err := writePrivate(p[1], append(b, '\n')); err != nil {
			_ = fl.Unlock()
			l.locks = l.locks[:len(l.locks)-1]
			l.Release()
			return nil, fmt.Errorf("account lock: %w", err)
		}
		l.holders = append(l.holders, p[1])
	}
	return l, nil
}

// Holder reads who holds (or last held) the lock; nil when nobody wrote it.
func (w *Workspace) Holder() (*Holder, error) { return readHolder(filepath.Join(w.Dir, holderFile)) }

func readHolder(path string) (*Holder, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var h Holder
	if err := json.Unmarshal(b, &h); err != nil || h.PID == 0 {
		return nil, fmt.Errorf("lock holder unreadable")
	}
	return &h, nil
}

// Release unlocks, the account's lock first. The lock files stay (removing one could let two
// runs lock two different files); the holder files go, so that nobody is named as holding a
// free lock.
func (l *Lock) Release() {
	if l == nil {
		return
	}
	for i := len(l.locks) - 1; i >= 0; i-- {
		if i < len(l.holders) {
			_ = os.Remove(l.holders[i])
		}
		_ = l.locks[i].Unlock()
	}
	l.locks, l.holders = nil, nil
}
