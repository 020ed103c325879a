package metrics

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Every metric name starts with this prefix.
const prefix = "leaf_import_"

// Run is the figures of one apply.
type Run struct {
	Account  string
	Started  time.Time
	Duration time.Duration
	// Outcome is succeeded, failed, interrupted or attention (nothing failed, growers need a
	// person).
	Outcome string
	// Changes counts the records by kind, action and status.
	Changes []Change
	// Requests counts every request sent; Retries the retried attempts by cause; RateLimited the
	// 429 answers.
	Requests    int64
	Retries     map[string]int64
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
	Account string
	At      time.Time
	// Credentials counts credentials by provider, then status (MISSING for a manifest
	// connection Leaf lacks).
	Credentials map[string]map[string]int
	Attention   map[string]int
}

// Outcomes a run can have.
var outcomes = []string{"succeeded", "failed", "interrupted", "attention"}

// WriteRun writes the apply metrics to path.
func WriteRun(path string, r Run) error {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"account": r.Account}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + name, Help: help, ConstLabels: labels})
		reg.MustRegister(g)
		return g
	}
	vec := func(name, help string, keys ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: prefix + name, Help: help, ConstLabels: labels}, keys)
		reg.MustRegister(g)
		return g
	}
	gauge("last_run_timestamp_seconds", "When the last apply started (Unix time).").Set(float64(r.Started.Unix()))
	gauge("last_run_duration_seconds", "How long the last apply took.").Set(r.Duration.Seconds())
	outcome := vec("last_run_outcome", "1 for how the last apply ended: succeeded, failed, interrupted, or attention (nothing failed, growers need a person).", "outcome")
	for _, o := range outcomes {
		v := 0.0
		if o == r.Outcome {
			v = 1
		}
		outcome.WithLabelValues(o).Set(v)
	}
	changes := vec("changes", "Changes of the last apply by kind, action and status (the run's report records).", "kind", "action", "status")
	for _, c := range r.Changes {
		changes.WithLabelValues(c.Kind, c.Action, c.Status).Set(float64(c.Count))
	}
	gauge("requests", "Requests the last apply sent to Leaf, reads and retries included.").Set(float64(r.Requests))
	retries := vec("retries", "Retried attempts of the last apply by cause (an HTTP status or a network error).", "cause")
	for cause, n := range r.Retries {
		retries.WithLabelValues(cause).Set(float64(n))
	}
	gauge("rate_limited", "429 answers the last apply met.").Set(float64(r.RateLimited))
	attention(reg, labels, r.Attention)
	return write(path, reg)
}

// WriteStatus writes the status metrics to path.
func WriteStatus(path string, s Status) error {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"account": s.Account}
	ts := prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + "last_status_timestamp_seconds", Help: "When status last read the account (Unix time).", ConstLabels: labels})
	ts.Set(float64(s.At.Unix()))
	creds := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: prefix + "credentials", ConstLabels: labels,
		Help: "Credentials by provider and status (MISSING: a manifest connection Leaf lacks)."}, []string{"provider", "status"})
	reg.MustRegister(ts, creds)
	for p, byStatus := range s.Credentials {
		for st, n := range byStatus {
			creds.WithLabelValues(p, st).Set(float64(n))
		}
	}
	attention(reg, labels, s.Attention)
	return write(path, reg)
}

func attention(reg *prometheus.Registry, labels prometheus.Labels, byReason map[string]int) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: prefix + "growers_needing_attention", ConstLabels: labels,
		Help: "Growers that need a person, by reason."}, []string{"reason"})
	reg.MustRegister(g)
	for reason, n := range byReason {
		g.WithLabelValues(reason).Set(float64(n))
	}
}

// write writes the file atomically and makes it readable by the collector (it holds counts,
// never a secret).
func write(path string, reg *prometheus.Registry) error {
	if !strings.HasSuffix(path, ".prom") {
		return fmt.Errorf("--metrics-file %s: node_exporter's textfile collector reads files ending in .prom", path)
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("--metrics-file: %w", err)
	}
	return os.Chmod(path, 0o644)
}
