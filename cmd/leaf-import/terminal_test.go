package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/report"
)

// A log line written while the bar shows clears the bar's line, and the bar is drawn again below
// it: no line is glued onto the bar.
func TestLogLinesAndTheBarShareTheTerminal(t *testing.T) {
	var out bytes.Buffer
	s := newScreen(&out)
	_, _ = s.Write([]byte("before the bar\n"))
	s.showBar(true)
	_, _ = s.barWriter().Write([]byte("\rapplying  40% [====      ] (4/10)"))
	_, _ = s.Write([]byte("level=INFO msg=\"Leaf answered 429\"\n"))
	got := out.String()
	assert.Contains(t, got, "(4/10)"+clearLine+"level=INFO msg=\"Leaf answered 429\"\n\rapplying  40%", got)
	s.showBar(false)
	out.Reset()
	_, _ = s.Write([]byte("after\n"))
	assert.Equal(t, "after\n", out.String(), "without a bar, lines pass through")
}

// The bar says what the run waits for while it waits, then the pace again; without a terminal
// the wait is one log line.
func TestProgressSaysWhatTheRunWaitsFor(t *testing.T) {
	var out bytes.Buffer
	s := newScreen(&out)
	io := &IOStreams{Out: &bytes.Buffer{}, ErrOut: &out, ErrIsTerminal: true}
	p := newProgress(io, s, slog.New(slog.NewTextHandler(s, nil)), 10, time.Hour, nil)
	p.Record(report.Record{Status: report.StatusSucceeded})
	p.Waiting("Leaf's list lag, to look up creates whose answer was lost", 5*time.Second)
	assert.Contains(t, p.describe(), "waiting 5s for Leaf's list lag")
	p.mu.Lock()
	p.waitUntil = time.Now().Add(-time.Millisecond)
	p.mu.Unlock()
	assert.True(t, strings.HasPrefix(p.describe(), "applying"), p.describe())
	p.Finish()

	var logs bytes.Buffer
	q := newProgress(&IOStreams{Out: &bytes.Buffer{}, ErrOut: &logs}, newScreen(&logs), slog.New(slog.NewTextHandler(&logs, nil)), 10, time.Hour, nil)
	q.Waiting("Leaf's list lag, to look up creates whose answer was lost", 5*time.Second)
	q.Finish()
	require.Contains(t, logs.String(), "waiting for Leaf's list lag")
	assert.Contains(t, logs.String(), "wait=5s")
}
