package metrics

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/report"
)

// Every metric name starts with this prefix.
const prefix = "leaf_import_"

// Commands that publish metrics: the value of the command label, and of the Pushgateway job
// (leaf_import_ and the command, dashes as underscores).
const (
	CommandApply    = "apply"
	CommandStatus   = "status"
	CommandLinkKeys = "link-keys"
)

// Run is the figures of one apply.
type Run struct {
	Started  time.Time
	Duration time.Duration
	// Outcome is succeeded, failed, interrupted or attention (nothing failed, growers need a
	// person).
	Outcome Outcome
	// LastSuccess is when an apply of the account last ended well: this one, or the newest of
	// the workspace history when this one failed (zero: never).
	LastSuccess time.Time
	// Changes counts the records by kind, action and status.
	Changes []Change
	// Requests counts every request sent; Retries the re-sent requests by cause; Lookups the
	// lookups after lost or conflicting creates; RateLimited the 429 answers.
	Requests    int64
	Retries     map[string]int64
	Lookups     int64
	RateLimited int64
	// Attention counts the growers needing a person, by reason.
	Attention map[string]int
}

// Change is one kind/action/status count.
type Change struct {
	Kind, Action, Status string
	Count                int
}

// Status is the figures of one status read.
type Status struct {
	At time.Time
	// Credentials counts credentials by provider, then status (MISSING for a manifest
	// connection Leaf lacks).
	Credentials map[string]map[string]int
	Attention   map[string]int
}

// Outcome is how a run ended, as the last_run_outcome series says.
type Outcome string

const (
	OutcomeSucceeded   Outcome = "succeeded"
	OutcomeFailed      Outcome = "failed"
	OutcomeInterrupted Outcome = "interrupted"
	// OutcomeAttention: nothing failed, but growers need a person.
	OutcomeAttention Outcome = "attention"
)

// Succeeded reports whether the run counts as a success (attention included): it sets
// last_success_timestamp_seconds.
func (o Outcome) Succeeded() bool { return o == OutcomeSucceeded || o == OutcomeAttention }

// LinkKeys is the figures of one link-keys run.
type LinkKeys struct {
	Started                       time.Time
	Outcome                       Outcome
	LastSuccess                   time.Time
	Issued, Kept, Revoked, Failed int
}

// The label values every run writes, zeros included, so that a series never vanishes from one
// night to the next (an alert on a series that disappears never resolves, or never fires).
var (
	outcomes        = []Outcome{OutcomeSucceeded, OutcomeFailed, OutcomeInterrupted, OutcomeAttention}
	changeKinds     = []change.Kind{change.KindUser, change.KindConfig, change.KindCredential, change.KindApp}
	changeActions   = []change.Action{change.ActionCreate, change.ActionUpdate, change.ActionReplace, change.ActionDelete, change.ActionConflict, change.ActionNotice}
	changeStatuses  = []report.Status{report.StatusSucceeded, report.StatusFailed, report.StatusSkipped, report.StatusPending}
	retryCauses     = []string{"429", "408", "500", "502", "503", "504", "network", "unsent", report.RetryLostCreate}
	applyAttention  = []string{"conflict", "notice"}
	statusAttention = []string{"missing-connection", "unhealthy-credential"}
	keyResults      = []string{"issued", "kept", "revoked", "failed"}
)

// registry builds one command's metrics with the labels every series carries.
type registry struct {
	reg    *prometheus.Registry
	labels prometheus.Labels
}

func newRegistry(labels prometheus.Labels) *registry {
	return &registry{reg: prometheus.NewRegistry(), labels: labels}
}

func (r *registry) gauge(name, help string, v float64) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + name, Help: help, ConstLabels: r.labels})
	r.reg.MustRegister(g)
	g.Set(v)
}

func (r *registry) vec(name, help string, keys ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: prefix + name, Help: help, ConstLabels: r.labels}, keys)
	r.reg.MustRegister(g)
	return g
}

// oneOf sets 1 on the value that is, 0 on the others.
func oneOf(g *prometheus.GaugeVec, values []Outcome, is Outcome) {
	for _, v := range values {
		n := 0.0
		if v == is {
			n = 1
		}
		g.WithLabelValues(string(v)).Set(n)
	}
}

// counts sets every known value (0 when absent) and every other value given.
func counts[N int | int64](g *prometheus.GaugeVec, known []string, got map[string]N) {
	for _, k := range known {
		g.WithLabelValues(k).Set(float64(got[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if !slices.Contains(known, k) {
			g.WithLabelValues(k).Set(float64(got[k]))
		}
	}
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Unix())
}

func (m Run) collect(r *registry) {
	r.gauge("last_run_timestamp_seconds", "When the last apply started (Unix time).", unix(m.Started))
	r.gauge("last_run_duration_seconds", "How long the last apply took.", m.Duration.Seconds())
	r.gauge("last_success_timestamp_seconds", "When an apply of the account last ended well (Unix time; 0: never). A failed run carries it forward.", unix(m.LastSuccess))
	oneOf(r.vec("last_run_outcome", "1 for how the last apply ended: succeeded, failed, interrupted, or attention (nothing failed, growers need a person).", "outcome"),
		outcomes, m.Outcome)
	changes := r.vec("changes", "Changes of the last apply by kind, action and status (the run's report records).", "kind", "action", "status")
	byKey := map[[3]string]int{}
	for _, c := range m.Changes {
		byKey[[3]string{c.Kind, c.Action, c.Status}] += c.Count
	}
	for _, k := range changeKinds {
		for _, a := range changeActions {
			for _, s := range changeStatuses {
				byKey[[3]string{string(k), string(a), string(s)}] += 0
			}
		}
	}
	for k, n := range byKey {
		changes.WithLabelValues(k[0], k[1], k[2]).Set(float64(n))
	}
	r.gauge("requests", "Requests the last apply sent to Leaf, reads, retries and lookups included.", float64(m.Requests))
	counts(r.vec("retries", "Requests the last apply sent again, by cause: an HTTP status, network, unsent, or lost-create (a create sent again after a lookup proved its lost answer created nothing).", "cause"),
		retryCauses, m.Retries)
	r.gauge("lookups", "Lookups the last apply made to settle creates whose answer was lost or conflicted.", float64(m.Lookups))
	r.gauge("rate_limited", "429 answers the last apply met.", float64(m.RateLimited))
	counts(r.vec("growers_needing_attention", "Growers that need a person, by reason.", "reason"), applyAttention, m.Attention)
}

func (s Status) collect(r *registry) {
	r.gauge("last_status_timestamp_seconds", "When status last read the account (Unix time).", unix(s.At))
	creds := r.vec("credentials", "Credentials by provider and status (MISSING: a manifest connection Leaf lacks).", "provider", "status")
	for _, p := range slices.Sorted(maps.Keys(s.Credentials)) {
		for st, n := range s.Credentials[p] {
			creds.WithLabelValues(p, st).Set(float64(n))
		}
	}
	counts(r.vec("growers_needing_attention", "Growers that need a person, by reason.", "reason"), statusAttention, s.Attention)
}

func (k LinkKeys) collect(r *registry) {
	r.gauge("last_run_timestamp_seconds", "When the last link-keys run started (Unix time).", unix(k.Started))
	r.gauge("last_success_timestamp_seconds", "When a link-keys run of the account last ended well (Unix time; 0: never).", unix(k.LastSuccess))
	oneOf(r.vec("last_run_outcome", "1 for how the last link-keys run ended.", "outcome"), outcomes, k.Outcome)
	counts(r.vec("link_keys", "Leaf Link API keys of the last link-keys run, by result.", "result"), keyResults,
		map[string]int{"issued": k.Issued, "kept": k.Kept, "revoked": k.Revoked, "failed": k.Failed})
}
