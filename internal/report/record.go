package report

import (
	"time"

	"github.com/leaf-import/leaf-import/internal/change"
)

// Status is the shared vocabulary's (package change), named here for brevity.
type Status = change.Status

const (
	StatusSucceeded = change.StatusSucceeded
	StatusFailed    = change.StatusFailed
	StatusSkipped   = change.StatusSkipped
	StatusPending   = change.StatusPending
)

// Error codes of skipped and failed records that are not HTTP or client errors.
const (
	CodeConflict        = "conflict" // several Leaf users carry the externalId
	CodeReauthorize     = "needs-reauthorization"
	CodeStale           = "stale"             // the Leaf object changed since the saved plan
	CodeDependency      = "dependency-failed" // the grower's user change failed
	CodeNotCreated      = "not-created"       // an ambiguous create that a lookup did not find
	CodeExistsDifferent = "exists-different"  // a lookup found an object that is not ours
	CodeInterrupted     = "interrupted"
	CodeNotice          = "notice" // a notice of the plan for a person (see the record's error)
)

// Record is how one change ended. Its CSV tags are the report's CSV columns; it holds no secret.
type Record struct {
	Seq        int           `json:"seq" csv:"seq"`
	RunID      string        `json:"runId" csv:"runId"`
	ChangeID   string        `json:"changeId" csv:"changeId"`
	Kind       change.Kind   `json:"kind" csv:"kind"`
	Action     change.Action `json:"action" csv:"action"`
	ExternalID string        `json:"externalId,omitempty" csv:"externalId"`
	Provider   string        `json:"provider,omitempty" csv:"provider"`
	AppName    string        `json:"appName,omitempty" csv:"appName"`
	LeafUserID string        `json:"leafUserId,omitempty" csv:"leafUserId"`
	Status     Status        `json:"status" csv:"status"`
	Attempts   int           `json:"attempts" csv:"attempts"`
	HTTPStatus int           `json:"httpStatus,omitempty" csv:"httpStatus"`
	ErrorCode  string        `json:"errorCode,omitempty" csv:"errorCode"`
	Error      string        `json:"error,omitempty" csv:"error"`
	// ResolvedByLookup marks a create whose answer was lost and whose object a lookup found.
	ResolvedByLookup bool      `json:"resolvedByLookup,omitempty" csv:"resolvedByLookup"`
	Source           string    `json:"source,omitempty" csv:"source"`
	StartedAt        time.Time `json:"startedAt" csv:"startedAt"`
	DurationMs       int64     `json:"durationMs" csv:"durationMs"`
}

// Done reports whether the change needs nothing more (a skipped notice or conflict counts: it
// is reported, and a resume re-plans it anyway).
func (r *Record) Done() bool { return r.Status == StatusSucceeded }
