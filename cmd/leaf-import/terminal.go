package main

import (
	"bytes"
	"io"
	"sync"
)

// screen shares a terminal between log lines and a progress bar: a log line clears the bar's
// line, is written, and the bar is drawn again below it, so that neither is glued to the other.
// Without a bar, writes pass through.
type screen struct {
	mu  sync.Mutex
	out io.Writer
	// barShown is set while a bar is on screen; lastBar is what the bar last drew.
	barShown bool
	lastBar  []byte
}

// clearLine returns the cursor to the start of the line and erases it (ANSI).
const clearLine = "\r\x1b[2K"

func newScreen(out io.Writer) *screen { return &screen{out: out} }

// Write writes log lines (slog hands each record to one Write): over the bar's line, then the
// bar again.
func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.barShown {
		return s.out.Write(p)
	}
	_, _ = io.WriteString(s.out, clearLine)
	n, err := s.out.Write(p)
	if len(s.lastBar) > 0 {
		_, _ = s.out.Write(s.lastBar)
	}
	return n, err
}

// barWriter is where the bar draws: the same terminal, one write at a time with the log lines.
func (s *screen) barWriter() io.Writer { return barWriter{s} }

type barWriter struct{ s *screen }

func (b barWriter) Write(p []byte) (int, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if len(bytes.TrimSpace(bytes.ReplaceAll(p, []byte("\r"), nil))) > 0 {
		b.s.lastBar = append(b.s.lastBar[:0], p...) // a drawing, not the blanks that clear one
	}
	return b.s.out.Write(p)
}

// showBar and hideBar say whether a bar is on screen.
func (s *screen) showBar(shown bool) {
	s.mu.Lock()
	s.barShown = shown
	if !shown {
		s.lastBar = nil
	}
	s.mu.Unlock()
}
