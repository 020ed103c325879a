package exec

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Lock keeps two applies from using the same journal or report at once (a nightly job that
// overruns into the next night). It is an flock on FILE.lock: the kernel releases it when its
// process dies, so a lock left by a dead process is simply taken over.
type Lock struct {
	f    *os.File
	path string
}

// LockedError is returned when another process holds the lock.
type LockedError struct {
	Path   string
	Holder string // "pid 4242, started 2026-11-22T03:00:00Z"
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("another leaf-import run holds %s (%s)", e.Path, e.Holder)
}

// AcquireLock takes the lock of target (target+".lock") without waiting.
func AcquireLock(target string) (*Lock, error) {
	path := target + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "holder unknown"
		if b, rerr := os.ReadFile(path); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
			holder = strings.TrimSpace(string(b))
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Path: path, Holder: holder}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	info := fmt.Sprintf("pid %d, started %s", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info+"\n"), 0)
	}
	return &Lock{f: f, path: path}, nil
}

// Release unlocks. The file stays (removing it could let two runs lock two different files);
// the next run overwrites its holder line.
func (l *Lock) Release() {
	if l == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}
