package plan

import (
	"errors"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"iter"
	"strconv"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/leaf"
)

// Kind and Action are the shared vocabulary of package change, named here for brevity.
type (
	Kind   = change.Kind
	Action = change.Action
)

const (
	KindApp        = change.KindApp
	KindUser       = change.KindUser
	KindCredential = change.KindCredential
	KindConfig     = change.KindConfig

	ActionNoop     = change.ActionNoop
	ActionCreate   = change.ActionCreate
	ActionUpdate   = change.ActionUpdate
	ActionReplace  = change.ActionReplace
	ActionDelete   = change.ActionDelete
	ActionConflict = change.ActionConflict
	ActionNotice   = change.ActionNotice
)

// Reason says why a change is planned.
type Reason string

const (
	// ReasonAbsent: the object is in the manifest and not in Leaf.
	ReasonAbsent Reason = "absent in Leaf"
	// ReasonFieldsDiffer: a managed user field or a compared credential field differs.
	ReasonFieldsDiffer Reason = "fields differ"
	// ReasonUnhealthy: the credential is not healthy and the manifest carries a different token
	// than Leaf holds (a re-authorization).
	ReasonUnhealthy Reason = "unhealthy, manifest carries a new token"
	// ReasonForced: --replace-credentials.
	ReasonForced Reason = "--replace-credentials"
	// ReasonUpdateApps: --update-apps (Leaf returns no app secrets to compare).
	ReasonUpdateApps Reason = "--update-apps"
	// ReasonAdopt: --adopt-by-email matched a Leaf user without externalId.
	ReasonAdopt Reason = "adopted by email"
	// ReasonPrune: in Leaf, not in the manifest, and --prune is on.
	ReasonPrune Reason = "not in manifest, --prune"
	// ReasonConflict: two Leaf users carry the grower's externalId.
	ReasonConflict Reason = "several Leaf users carry this externalId"
	// ReasonReauthorize: unhealthy, and Leaf already holds the manifest's token.
	ReasonReauthorize Reason = "needs re-authorization"
	// ReasonConfigUnread: the manifest's config differs from what the account's workspace
	// recorded as last applied, and Leaf's was not read (the flags are set again; setting them
	// is idempotent).
	ReasonConfigUnread Reason = "config not recorded as applied"
)

// FieldChange is one field a change sets: plain values as they are, secrets (Secret set) as
// keyed fingerprints.
type FieldChange struct {
	Name   string `json:"name"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
	Secret bool   `json:"secret,omitempty"`
}

// show renders a value of the change for people: plain values quoted.
func (f FieldChange) show(v string) string { return string(f.appendShown(nil, v)) }

// appendShown appends what show returns.
func (f FieldChange) appendShown(dst []byte, v string) []byte {
	if f.Secret {
		return append(dst, v...)
	}
	return strconv.AppendQuote(dst, v)
}

// Change is one planned change. The exported fields are its saved (secret-free) form; the
// payload fields carry the desired values for apply and are never saved.
type Change struct {
	// ID is stable across runs: "user:<externalId>", "credential:<externalId>/<provider>",
	// "config:<externalId>", "app:<provider>/<appName>[/<env>]".
	ID          string
	Kind        Kind
	Action      Action
	Reason      Reason
	ExternalID  string
	Provider    string
	AppName     string
	Environment string
	// LeafUserID is the existing Leaf user the change acts on; "" when the user is created by
	// this plan (apply passes the new id to the grower's credential changes).
	LeafUserID string
	Fields     []FieldChange
	// Status is the credential status that made it unhealthy (replace for ReasonUnhealthy).
	Status string
	Source manifest.Loc
	// Base is a digest of the Leaf object the change was computed from ("absent" digest for
	// creates); a saved plan is stale for this change when it differs.
	Base string

	// Payload for apply (never saved).
	Grower     *manifest.Grower
	Connection *manifest.Connection
	App        *manifest.App
	// Current is the Leaf credential being replaced or deleted (nil otherwise).
	Current *leaf.Credential
}

// Conflict is a grower skipped because Leaf holds several users with its externalId.
type Conflict struct {
	ExternalID  string
	LeafUserIDs []string
	Reason      Reason
	Source      manifest.Loc
}

// Notice is something the plan will not change but a person should know.
type Notice struct {
	ExternalID string
	Provider   string
	LeafUserID string
	Status     string
	Reason     Reason
	Source     manifest.Loc
}

// Doubt is a change an earlier run sent and never saw answered (a crash, a kill, a lost
// answer): Leaf may or may not hold its effect. apply settles it by lookup before it plans;
// plan, which changes nothing, only shows it.
type Doubt struct {
	ChangeID   string        `json:"changeId"`
	Kind       change.Kind   `json:"kind"`
	Action     change.Action `json:"action"`
	Step       change.Step   `json:"step"`
	ExternalID string        `json:"externalId,omitempty"`
	Provider   string        `json:"provider,omitempty"`
	AppName    string        `json:"appName,omitempty"`
	// RunID is the run that sent the request.
	RunID string `json:"runId"`
}

// Kind is the kind of object a notice is about: a credential when it names a provider.
func (n Notice) Kind() Kind {
	if n.Provider != "" {
		return KindCredential
	}
	return KindUser
}

// Counts are per-action counts. Conflict and Notice count what needs a person; they are
// neither changes nor unchanged objects.
type Counts struct {
	Create   int `json:"create"`
	Update   int `json:"update"`
	Replace  int `json:"replace"`
	Delete   int `json:"delete"`
	Noop     int `json:"noop"`
	Conflict int `json:"conflict"`
	Notice   int `json:"notice"`
}

func (c *Counts) add(a Action) {
	switch a {
	case ActionCreate:
		c.Create++
	case ActionUpdate:
		c.Update++
	case ActionReplace:
		c.Replace++
	case ActionDelete:
		c.Delete++
	case ActionNoop:
		c.Noop++
	case ActionConflict:
		c.Conflict++
	case ActionNotice:
		c.Notice++
	}
}

// Changes is the number of changes (everything but noop, conflicts and notices).
func (c Counts) Changes() int { return c.Create + c.Update + c.Replace + c.Delete }

// Attention is the number of conflicts and notices: growers that need a person.
func (c Counts) Attention() int { return c.Conflict + c.Notice }

// Summary is what a plan amounts to: its counts per kind, the growers that need a person,
// what it would refuse to send, and the configs it found Leaf to hold already. It is known once
// every change of the plan is computed: a pass over them returns it (Plan.Summarize, Plan.Walk).
type Summary struct {
	// ByKind counts changes and unchanged (noop) objects per kind.
	ByKind    map[Kind]*Counts
	Conflicts []Conflict
	Notices   []Notice
	// Managed is the number of Leaf objects in scope (users with an externalId, their
	// credentials, the apps read): the base of --max-deletes P%.
	Managed int
	// ConfigVerified lists the growers' configs that Leaf was read to hold already, by Leaf
	// user id (the config's digest): the workspace records them as applied.
	ConfigVerified map[string]string
	// Refused lists the changes that cannot be made as the manifest stands (a kept secret
	// that a change would have to send): the plan is not applied while any is left.
	Refused manifest.Problems
}

func newSummary() *Summary {
	return &Summary{ByKind: map[Kind]*Counts{KindApp: {}, KindUser: {}, KindCredential: {}, KindConfig: {}}}
}

// CountsOf returns the counts of kind k (zero when the plan has none).
func (s *Summary) CountsOf(k Kind) Counts {
	if c := s.ByKind[k]; c != nil {
		return *c
	}
	return Counts{}
}

// Empty reports whether the plan has no change.
func (s *Summary) Empty() bool { return s.Total().Changes() == 0 }

// Total sums the per-kind counts.
func (s *Summary) Total() Counts {
	var t Counts
	for _, c := range s.ByKind {
		t.Create += c.Create
		t.Update += c.Update
		t.Replace += c.Replace
		t.Delete += c.Delete
		t.Noop += c.Noop
		t.Conflict += c.Conflict
		t.Notice += c.Notice
	}
	return t
}

func (s *Summary) count(k Kind, a Action) {
	if s.ByKind[k] == nil {
		s.ByKind[k] = &Counts{}
	}
	s.ByKind[k].add(a)
}

// Plan is a plan as a value: the changes that turn Leaf into the manifest, as a sequence that
// can be walked any number of times, each walk computing them again from the manifest and the
// state (a plan of a million growers is never held), and its Summary, which a pass returns.
// Nothing about a Plan changes once it is made: Only returns a new one.
type Plan struct {
	// Changes are a held plan's changes (Diff), in apply order: apps, then growers by
	// externalId, each grower's user change before its config and credential changes. A lazy
	// plan (Lazy) holds none.
	Changes []*Change
	Options Options
	// InDoubt lists earlier runs' requests whose outcome is unknown (set by the caller, which
	// knows the account's history; the diff itself does not).
	InDoubt []Doubt
	// Reads is the number of requests that read the state the plan was computed from.
	Reads int

	// summary is a held plan's summary.
	summary *Summary
	// pass computes a lazy plan's changes again, handing them to emit a grower at a time, and
	// returns its summary (counting: the changes are only counted, without fingerprints).
	pass func(emit func([]*Change) error, counting bool) (*Summary, error)
	// keep, when set, narrows the changes walked (see Only).
	keep func(*Change) bool
}

// Lazy returns the plan of desired against current without computing it: its changes are
// computed each time they are walked and never held, so that a plan of a million growers can be
// shown in the memory of its manifest.
func Lazy(desired *manifest.Manifest, current *leaf.Snapshot, opts Options) *Plan {
	if opts.Fingerprints == nil {
		opts.Fingerprints = NewFingerprinter(nil) // one key for every pass
	}
	return &Plan{Options: opts,
		pass: func(emit func([]*Change) error, counting bool) (*Summary, error) {
			o := opts
			o.counting = counting
			return diffEach(desired, current, o, emit)
		}}
}

// Only returns the plan narrowed to the changes keep accepts (apply --plan: the saved changes
// that still hold). Its summary stays that of the whole plan.
func (p *Plan) Only(keep func(*Change) bool) *Plan {
	q := *p
	q.keep = keep
	return &q
}

// Summarize returns the plan's summary: for a lazy plan, one pass that counts the changes and
// keeps none of them.
func (p *Plan) Summarize() (*Summary, error) {
	if p.pass == nil {
		return p.summary, nil
	}
	return p.pass(func([]*Change) error { return nil }, true)
}

// Walk calls fn with each change in plan order (narrowed by Only) and returns the summary of
// the whole plan, as the walk computed it.
func (p *Plan) Walk(fn func(*Change) error) (*Summary, error) {
	if keep := p.keep; keep != nil {
		all := fn
		fn = func(c *Change) error {
			if !keep(c) {
				return nil
			}
			return all(c)
		}
	}
	if p.pass == nil {
		for _, c := range p.Changes {
			if err := fn(c); err != nil {
				return nil, err
			}
		}
		return p.summary, nil
	}
	return p.pass(func(grp []*Change) error {
		for _, c := range grp {
			if err := fn(c); err != nil {
				return err
			}
		}
		return nil
	}, false)
}

// All iterates the plan's changes in plan order, like Walk: a lazy plan computes them for the
// loop, and a change the loop is done with is garbage.
func (p *Plan) All() iter.Seq[*Change] {
	return func(yield func(*Change) bool) {
		_, _ = p.Walk(func(c *Change) error {
			if !yield(c) {
				return errStopped
			}
			return nil
		})
	}
}

// errStopped ends an iteration its loop left early.
var errStopped = errors.New("iteration stopped")

// Requests is the number of API requests a change needs when nothing fails.
func (c *Change) Requests() int {
	if c.Action == ActionReplace {
		return 2
	}
	return 1
}
