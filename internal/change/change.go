package change

// Kind is the kind of Leaf object a change is about.
type Kind string

const (
	KindApp        Kind = "app"
	KindUser       Kind = "user"
	KindCredential Kind = "credential"
	// KindConfig is a grower's own Leaf configuration (the sync flags), set after its user and
	// before its credentials.
	KindConfig Kind = "config"
	// KindAPIKey is a Leaf Link API key that leaf-import issued for a grower (link-keys).
	KindAPIKey Kind = "api-key"
)

// Kinds are the kinds a plan counts, in the order summaries show them.
var Kinds = []Kind{KindUser, KindCredential, KindApp, KindConfig}

func (k Kind) String() string { return string(k) }

// Action is what a change does.
type Action string

const (
	ActionNoop   Action = "noop"
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	// ActionReplace deletes a credential and posts it again (Leaf has no credential update).
	ActionReplace Action = "replace"
	ActionDelete  Action = "delete"
	// ActionConflict and ActionNotice are not changes: they mark what a person must look at
	// (several Leaf users carry one externalId; a credential needs re-authorization). They are
	// counted and reported on their own, never as an update or a noop.
	ActionConflict Action = "conflict"
	ActionNotice   Action = "notice"
)

func (a Action) String() string { return string(a) }

// Step is one mutating request of a change (a credential replace is a delete, then a post).
type Step string

const (
	StepPost   Step = "post"
	StepPatch  Step = "patch"
	StepPut    Step = "put"
	StepDelete Step = "delete"
)

// Status is how a change ended.
type Status string

const (
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	// StatusSkipped: not attempted on purpose (a conflict, a re-authorization notice, a stale
	// change, a dependency that failed).
	StatusSkipped Status = "skipped"
	// StatusPending: not reached (the run was interrupted).
	StatusPending Status = "pending"
)

// Outcome is what became of one mutating request, as its journal line says.
type Outcome string

const (
	OutcomeSucceeded Outcome = "succeeded"
	OutcomeFailed    Outcome = "failed"
	// OutcomeFound: the request's answer was lost and a lookup found the object.
	OutcomeFound Outcome = "resolved-by-lookup"
	// OutcomeAbsent: a lookup found no object.
	OutcomeAbsent Outcome = "absent"
)
