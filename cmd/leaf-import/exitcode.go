package main

import (
	"context"
	"errors"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/metrics"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// Exit codes (docs/design.md, CLI).
const (
	exitOK          = 0
	exitError       = 1   // invalid manifest, usage, safety valve, stale plan, fatal API error
	exitChanges     = 2   // plan --detailed-exitcode found changes
	exitFailed      = 3   // apply finished but some changes failed
	exitAuth        = 4   // authentication failed
	exitLocked      = 5   // another run holds the lock
	exitAttention   = 6   // finished, nothing failed, but some growers need a person
	exitInterrupted = 130 // interrupted by a signal
)

// exitError carries an exit code. An empty message means "already reported".
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitErr) Unwrap() error { return e.err }

// withCode wraps err (which may be nil: nothing more to print) with an exit code.
func withCode(code int, err error) error { return &exitErr{code: code, err: err} }

// runOutcome is how a run that ended with err ended, for its metrics: by its exit code.
func runOutcome(err error) metrics.Outcome {
	switch exitCode(err) {
	case exitOK:
		return metrics.OutcomeSucceeded
	case exitAttention:
		return metrics.OutcomeAttention
	case exitInterrupted:
		return metrics.OutcomeInterrupted
	}
	return metrics.OutcomeFailed
}

// exitCode is the one place that maps an error to the process exit code: an exit code a command
// chose, or what the error is (the account locked, authentication, an interruption); anything
// else is 1.
func exitCode(err error) int {
	var ee *exitErr
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, new(*workspace.LockedError)):
		return exitLocked
	case leaf.IsAuth(err):
		return exitAuth
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return exitError
}
