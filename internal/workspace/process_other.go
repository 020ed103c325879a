//go:build !unix

package workspace

import "os"

// processAlive reports whether the lock holder's process still runs (on this host).
func processAlive(h *Holder) bool {
	if host, _ := os.Hostname(); host != h.Host {
		return true
	}
	p, err := os.FindProcess(h.PID)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
