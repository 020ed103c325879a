package exec

import (
	"context"
	"errors"
	"strings"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// Mutation names one mutating request for the journal: the change it belongs to, its step and
// phase, the Leaf user it acts on, and for an API key create the label a later run finds the
// key by.
type Mutation struct {
	Change *plan.Change
	Step   change.Step
	Phase  int
	UserID string
	Label  string
}

// JournalError is a journal line that could not be written. Before a request it means the
// request was not sent; after one, that its outcome is not on record (the next run settles it
// by lookup). Either way the run must stop: nothing it does is durable any more.
type JournalError struct{ Err error }

func (e *JournalError) Error() string {
	if msg := e.Err.Error(); !strings.HasPrefix(msg, "journal") {
		return "journal: " + msg
	}
	return e.Err.Error()
}
func (e *JournalError) Unwrap() error { return e.Err }

// IsJournal reports whether err is a journal write that failed.
func IsJournal(err error) bool {
	var je *JournalError
	return errors.As(err, &je)
}

// leftInDoubt marks an error after which the request's effect is unknown to everyone but Leaf.
type leftInDoubt struct{ err error }

func (e leftInDoubt) Error() string { return e.err.Error() }
func (e leftInDoubt) Unwrap() error { return e.err }

// LeaveInDoubt marks err, returned by a Send's request, as leaving the request in doubt even
// though Leaf answered: its intent stays open and the next run settles it by lookup (a key
// created whose value could not be written anywhere).
func LeaveInDoubt(err error) error { return leftInDoubt{err} }

// Send journals m's intent, runs do, and journals its outcome. A request is never sent
// without its intent on disk, and a journal line that cannot be written is returned as a
// *JournalError, so that the caller never reports as done what the journal does not hold. An
// answer in doubt (lost, cancelled, or marked by LeaveInDoubt) leaves the intent open for a
// lookup. It returns the object's id when do gives one.
func Send(ctx context.Context, j *Journal, m Mutation, do func(ctx context.Context) (string, error)) (string, error) {
	var err error
	if m.Label != "" {
		err = j.IntentLabeled(m.Change, m.Step, m.Phase, m.UserID, m.Label)
	} else {
		err = j.Intent(m.Change, m.Step, m.Phase, m.UserID)
	}
	if err != nil {
		return "", &JournalError{err}
	}
	id, err := do(ctx)
	var doubt leftInDoubt
	if inDoubt(err) || errors.As(err, &doubt) {
		return id, err
	}
	status, class := report.OutcomeSucceeded, ""
	if err != nil {
		status, class = report.OutcomeFailed, leaf.ErrorCode(err)
	}
	if jerr := j.Outcome(m.Change, m.Step, m.Phase, m.UserID, status, id, leaf.StatusCode(err), class); jerr != nil {
		return id, &JournalError{jerr}
	}
	return id, err
}
