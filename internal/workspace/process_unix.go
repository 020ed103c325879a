//go:build unix

package workspace

import (
	"errors"
	"os"
	"syscall"
)

// processAlive reports whether the lock holder's process still runs (on this host).
func processAlive(h *Holder) bool {
	if host, _ := os.Hostname(); host != h.Host {
		return true // another machine sharing the directory: trust the holder
	}
	err := syscall.Kill(h.PID, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
