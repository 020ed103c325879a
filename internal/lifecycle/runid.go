package lifecycle

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewRunID names a run: its start time (so that run ids sort by start) and 6 random hex digits.
func NewRunID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
