package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limit is a --max-deletes value: a count, or a percentage of the managed objects.
type Limit struct {
	N       int
	Percent float64
	// IsPercent selects Percent over N.
	IsPercent bool
}

// DefaultMaxDeletes applies with --prune when --max-deletes is not given.
var DefaultMaxDeletes = Limit{Percent: 10, IsPercent: true}

// ParseLimit reads "N" or "P%".
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 100 || math.IsNaN(v) {
			return Limit{}, fmt.Errorf("invalid percentage %q (want 0%% to 100%%)", s)
		}
		return Limit{Percent: v, IsPercent: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return Limit{}, fmt.Errorf("invalid limit %q (want a count N or a percentage P%%)", s)
	}
	return Limit{N: n}, nil
}

func (l Limit) String() string {
	if l.IsPercent {
		return strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(l.N)
}

// allows reports whether n deletes fit under the limit for managed objects.
func (l Limit) allows(n, managed int) bool {
	if l.IsPercent {
		return float64(n) <= l.Percent/100*float64(managed)
	}
	return n <= l.N
}

// Valves are the safety valves checked before anything is sent.
type Valves struct {
	// MaxChanges refuses a plan with more changes; negative means no limit.
	MaxChanges int
	// MaxDeletes refuses a plan with more deletes; nil means no limit.
	MaxDeletes *Limit
}

// ValveError is a tripped safety valve.
type ValveError struct{ msg string }

func (e *ValveError) Error() string { return e.msg }

// CheckValves returns a *ValveError when the plan is larger than the valves allow.
func (s *Summary) CheckValves(v Valves) error {
	t := s.Total()
	if v.MaxChanges >= 0 && t.Changes() > v.MaxChanges {
		return &ValveError{fmt.Sprintf("the plan has %d changes, more than --max-changes %d allows; nothing was sent", t.Changes(), v.MaxChanges)}
	}
	if v.MaxDeletes != nil && !v.MaxDeletes.allows(t.Delete, s.Managed) {
		return &ValveError{fmt.Sprintf("the plan deletes %d of %d managed objects, more than --max-deletes %s allows; nothing was sent",
			t.Delete, s.Managed, v.MaxDeletes)}
	}
	return nil
}

// Estimate is the cost of applying a plan when nothing fails.
type Estimate struct {
	// Requests counts the state reads apply repeats, one authentication and every change's
	// requests (a credential replace is two).
	Requests int `json:"requests"`
	// Seconds at the rate given; 0 when the rate is unlimited.
	Seconds float64 `json:"seconds"`
}

// Estimate computes the requests and time of applying p, whose summary is s, at rate requests
// per second.
func (p *Plan) Estimate(s *Summary, rate float64) Estimate {
	t := s.Total()
	n := 1 + p.Reads + t.Changes() + t.Replace // a replace is two requests
	e := Estimate{Requests: n}
	if rate > 0 {
		e.Seconds = math.Round(float64(n)/rate*10) / 10
	}
	return e
}
