package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leaf-import/leaf-import/internal/change"
)

// StatusCounts counts records by status.
type StatusCounts struct {
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
	Pending   int `json:"pending"`
}

func (c *StatusCounts) add(s Status) {
	switch s {
	case StatusSucceeded:
		c.Succeeded++
	case StatusFailed:
		c.Failed++
	case StatusSkipped:
		c.Skipped++
	case StatusPending:
		c.Pending++
	}
}

// Total is the number of records counted.
func (c StatusCounts) Total() int { return c.Succeeded + c.Failed + c.Skipped + c.Pending }

// Summary is the account of a run printed at its end and kept in the JSON report. Its counts
// cover every record of the report: after a resume, those of the earlier runs too, with
// ByRun saying which run ended which.
type Summary struct {
	StatusCounts
	// ByKind counts by kind, then action.
	ByKind map[change.Kind]map[change.Action]StatusCounts `json:"byKind"`
	// Conflicts and Notices count the records that need a person (they are skipped records,
	// counted here on their own as well).
	Conflicts int `json:"conflicts"`
	Notices   int `json:"notices"`
	// ByRun counts by the run that ended each record (set when the report covers several runs).
	ByRun map[string]StatusCounts `json:"byRun,omitempty"`
	// Requests, Retries, Lookups, DurationMs and Rate are the last run's.
	// Requests counts every request sent to Leaf this run (authentication and reads included).
	Requests int64 `json:"requests"`
	// Retries counts re-sent requests by cause: the client's retries (an HTTP status, network,
	// unsent) and RetryLostCreate.
	Retries map[string]int64 `json:"retries"`
	// Lookups counts objects looked up after an ambiguous or conflicting create.
	Lookups    int64   `json:"lookups"`
	DurationMs int64   `json:"durationMs"`
	Rate       float64 `json:"achievedRate"`
	// Pace is what the run's pacer learned of Leaf's rate limit (nil for a report of an older
	// leaf-import).
	Pace *Pace `json:"pace,omitempty"`
}

// Pace is what a run learned of the account's rate limit.
type Pace struct {
	// Mode is "auto" (--rate auto) or "fixed" (an explicit --rate, 0 for none).
	Mode string `json:"mode"`
	// Ceiling is the explicit --rate (0: none); Final the pace the run ended at, and Limit the
	// account's limit it found (0: no 429 showed one), in requests per second.
	Ceiling float64 `json:"ceiling,omitempty"`
	Final   float64 `json:"final"`
	Limit   float64 `json:"limit,omitempty"`
	// RateLimited counts the answers that were 429; LimitHits the clusters of them taken for the
	// account's limit (the rest were sporadic).
	RateLimited int `json:"rateLimited"`
	LimitHits   int `json:"limitHits"`
}

// Summarize counts the records and sets the request figures.
func Summarize(records []Record, requests int64, retries map[string]int64, lookups int64, d time.Duration) Summary {
	sum := newSummarizer()
	for i := range records {
		sum.add(&records[i])
	}
	return sum.summary(RunStats{Requests: requests, Retries: retries, Lookups: lookups, Duration: d})
}

// summarizer counts records one at a time (a report's records are streamed, not held).
type summarizer struct {
	s     Summary
	byRun map[string]StatusCounts
}

func newSummarizer() *summarizer {
	return &summarizer{s: Summary{ByKind: map[change.Kind]map[change.Action]StatusCounts{}}, byRun: map[string]StatusCounts{}}
}

func (z *summarizer) add(r *Record) {
	s := &z.s
	s.add(r.Status)
	switch r.Action {
	case change.ActionConflict:
		s.Conflicts++
	case change.ActionNotice:
		s.Notices++
	}
	rc := z.byRun[r.RunID]
	rc.add(r.Status)
	z.byRun[r.RunID] = rc
	if s.ByKind[r.Kind] == nil {
		s.ByKind[r.Kind] = map[change.Action]StatusCounts{}
	}
	c := s.ByKind[r.Kind][r.Action]
	c.add(r.Status)
	s.ByKind[r.Kind][r.Action] = c
}

func (z *summarizer) summary(st RunStats) Summary {
	s := z.s
	s.Requests, s.Retries, s.Lookups, s.DurationMs = st.Requests, st.Retries, st.Lookups, st.Duration.Milliseconds()
	s.Pace = st.Pace
	if s.Retries == nil {
		s.Retries = map[string]int64{}
	}
	if len(z.byRun) > 1 {
		s.ByRun = z.byRun
	}
	if st.Duration > 0 {
		s.Rate = float64(st.Requests) / st.Duration.Seconds()
	}
	return s
}

// Text renders the summary for people.
func (s Summary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Applied: %d succeeded, %d failed, %d skipped, %d pending.\n", s.Succeeded, s.Failed, s.Skipped, s.Pending)
	if s.Conflicts+s.Notices > 0 {
		fmt.Fprintf(&b, "Needs a person: %d conflict(s), %d notice(s) (see the report's skipped records).\n", s.Conflicts, s.Notices)
	}
	for _, k := range change.Kinds {
		actions := s.ByKind[k]
		for _, a := range slices.Sorted(maps.Keys(actions)) {
			c := actions[a]
			fmt.Fprintf(&b, "  %-10s %-7s %5d succeeded %5d failed %5d skipped %5d pending\n", k, a, c.Succeeded, c.Failed, c.Skipped, c.Pending)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.ByRun)) {
		c := s.ByRun[id]
		fmt.Fprintf(&b, "  run %s: %d succeeded, %d failed, %d skipped, %d pending\n", id, c.Succeeded, c.Failed, c.Skipped, c.Pending)
	}
	var causes []string
	for _, c := range slices.Sorted(maps.Keys(s.Retries)) {
		causes = append(causes, fmt.Sprintf("%s %d", c, s.Retries[c]))
	}
	retries := "none"
	if len(causes) > 0 {
		retries = strings.Join(causes, ", ")
	}
	fmt.Fprintf(&b, "Requests: %d in %s (%.1f/s); retries: %s; lookups: %d.\n",
		s.Requests, (time.Duration(s.DurationMs) * time.Millisecond).Round(100*time.Millisecond), s.Rate, retries, s.Lookups)
	if p := s.Pace; p != nil && (p.Mode == "auto" || p.RateLimited > 0) {
		fmt.Fprintf(&b, "Pace (%s): ended at %.1f/s", p.Mode, p.Final)
		if p.Limit > 0 {
			fmt.Fprintf(&b, ", Leaf's limit for this account about %.1f/s", p.Limit)
		}
		fmt.Fprintf(&b, "; %d answer(s) were 429 (%d time(s) the limit).\n", p.RateLimited, p.LimitHits)
	}
	return b.String()
}

// RetryLostCreate is the retry cause of a create sent again after a lookup proved that its lost
// answer had created nothing.
const RetryLostCreate = "lost-create"

// WithReposts adds the creates sent again to a client's retries by cause (a new map).
func WithReposts(retries map[string]int64, reposts int64) map[string]int64 {
	out := make(map[string]int64, len(retries)+1)
	for k, v := range retries {
		out[k] = v
	}
	if reposts > 0 {
		out[RetryLostCreate] += reposts
	}
	return out
}
