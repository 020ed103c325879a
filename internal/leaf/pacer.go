package leaf

import (
	"context"
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Clock is the time source of the pacer and the retry loop; tests inject a fake one so that
// they never sleep for real.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pacer is the process-wide rate limiter that every request passes, retries and lookups
// included. It is a token bucket (golang.org/x/time/rate) whose rate the pace model sets from
// Leaf's answers (pace.go): clusters of 429s teach it the account's limit, isolated ones cost a
// bounded slowdown, and a spent limit window pauses every caller until it resets. An explicit
// rate is a ceiling it never passes; --rate auto (NewAutoPacer) looks for the limit itself.
type Pacer struct {
	clock Clock

	mu    sync.Mutex
	lim   *rate.Limiter
	model *paceModel
	set   float64 // the limiter's rate as last set
	// gen counts the times the pace went down by more than 10% (from genRate, the highest pace
	// since) or a pause began: a caller holding a place in the bucket from before takes it
	// again. Smaller cuts (a sporadic 429's 2%) leave the places as they are.
	gen     uint64
	genRate float64
	burst   int
}

// DefaultRetryAfter is how long a request refused with 429 and no Retry-After waits at least
// before it is sent again, when the refusal is the account's limit.
const DefaultRetryAfter = paceProbeEvery

// NewPacer returns a pacer allowing perSecond requests per second with the given burst: an
// exact ceiling. perSecond <= 0 means no ceiling (the sandbox); 429s still slow it. A nil clock
// uses SystemClock.
func NewPacer(perSecond float64, burst int, clock Clock) *Pacer {
	ceiling := perSecond
	if ceiling <= 0 {
		ceiling = math.Inf(1)
	}
	return newPacer(false, ceiling, ceiling, burst, clock)
}

// NewAutoPacer returns the pacer of --rate auto: it starts at start requests per second
// (LeafDocumentedRate when start <= 0) and converges on the account's limit, under AutoMaxRate.
func NewAutoPacer(start float64, burst int, clock Clock) *Pacer {
	if start <= 0 {
		start = LeafDocumentedRate
	}
	return newPacer(true, start, AutoMaxRate, burst, clock)
}

func newPacer(auto bool, start, ceiling float64, burst int, clock Clock) *Pacer {
	if clock == nil {
		clock = SystemClock{}
	}
	p := &Pacer{clock: clock, model: newPaceModel(auto, start, ceiling, clock.Now())}
	p.set = p.model.rate
	p.genRate = p.set
	p.burst = max(burst, 1)
	p.lim = rate.NewLimiter(limitOf(p.set), p.burst)
	return p
}

func limitOf(r float64) rate.Limit {
	if math.IsInf(r, 1) {
		return rate.Inf
	}
	return rate.Limit(r)
}

// sync gives the limiter the model's rate. p.mu is held.
func (p *Pacer) sync(now time.Time) {
	p.model.step(now)
	if r := p.model.rate; r != p.set {
		p.set = r
		if r < 0.9*p.genRate {
			p.renew() // a large cut: places taken at the old pace are taken again
			return
		}
		p.genRate = max(p.genRate, r)
		p.lim.SetLimitAt(now, limitOf(r))
	}
}

// renew starts a new generation: a fresh token bucket at the model's pace, so that callers
// holding places in the old one (taken at an older, faster pace, or before a pause) take them
// again in the new one. (Cancelling the old places one by one would not free the old bucket's
// future: it lets each cancel give back only what no later place took.) p.mu is held.
func (p *Pacer) renew() {
	p.gen++
	p.set = p.model.rate
	p.genRate = p.set
	p.lim = rate.NewLimiter(limitOf(p.set), p.burst)
}

// maxHold is how often a caller waiting for its place in the token bucket looks whether the
// pace went down or a pause began meanwhile: a place taken at an older, faster pace is then
// taken again, so that a 429 slows every waiting caller at once. Places are otherwise kept in
// the order they were taken.
const maxHold = 100 * time.Millisecond

// Wait blocks until the caller may send one request: past any pause, then through the token
// bucket.
func (p *Pacer) Wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := p.clock.Now()
		p.sync(now)
		if until := p.model.pauseUntil; now.Before(until) {
			p.mu.Unlock()
			if err := p.clock.Sleep(ctx, min(until.Sub(now), 4*maxHold)); err != nil {
				return err
			}
			continue
		}
		r := p.lim.ReserveN(now, 1)
		gen := p.gen
		p.mu.Unlock()
		if !r.OK() {
			return context.Canceled
		}
		again, err := p.hold(ctx, r, r.DelayFrom(now), gen)
		if err != nil || again {
			if err != nil {
				return err
			}
			continue
		}
		p.mu.Lock()
		p.model.grant(p.clock.Now())
		p.mu.Unlock()
		return ctx.Err()
	}
}

// hold sleeps for d, the wait of reservation r, in steps of maxHold; again is set (and r
// cancelled) when the pace went down or a pause began meanwhile.
func (p *Pacer) hold(ctx context.Context, r *rate.Reservation, d time.Duration, gen uint64) (again bool, err error) {
	for d > 0 {
		step := min(d, maxHold)
		if err := p.clock.Sleep(ctx, step); err != nil {
			r.Cancel()
			return false, err
		}
		d -= step
		p.mu.Lock()
		changed := p.gen != gen
		if changed {
			r.CancelAt(p.clock.Now())
		}
		p.mu.Unlock()
		if changed {
			return true, nil
		}
	}
	return false, nil
}

// Answered records an answer that was not a 429: Leaf accepted the request under its limit.
// Its rate-limit headers, when it has any that say the window is spent, pause every caller
// until the window resets.
func (p *Pacer) Answered(h http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	p.model.answered(now)
	if until, ok := headerPause(h, now); ok && until.After(p.model.pauseUntil) {
		p.model.exhausted(until)
		p.renew()
	}
	p.sync(now)
}

// RateLimited records a 429 with its Retry-After (0 when absent) and returns how long the
// refused request waits before it is sent again: its Retry-After, or 0 for its usual backoff.
// When the 429 is the account's limit, every caller pauses too (Wait).
func (p *Pacer) RateLimited(retryAfter time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	before := p.model.pauseUntil
	d := p.model.rateLimited(now, retryAfter)
	if p.model.pauseUntil.After(before) {
		p.renew()
	}
	p.sync(now)
	return d.wait
}

// PaceStats is what the pacer learned and did, for the report and the next run.
type PaceStats struct {
	// Auto is set for --rate auto.
	Auto bool
	// Rate is the pace now (requests per second; +Inf when nothing limits it); Limit the
	// account's limit as learned from 429s (0: none met).
	Rate, Limit float64
	// Reason says why the pace is below its ceiling ("" when it is not), for people.
	Reason string
	// Answers counts the answers, RateLimited the 429s among them, LimitHits the clusters of
	// 429s taken for the account's limit.
	Answers, RateLimited, LimitHits int
}

// Stats returns what the pacer learned and did.
func (p *Pacer) Stats() PaceStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	p.sync(now)
	m := p.model
	st := PaceStats{Auto: m.auto, Rate: m.rate, Limit: m.limit, Answers: m.answers, RateLimited: m.refused, LimitHits: m.clusters}
	if m.reason != PaceAtCeiling {
		st.Reason = m.describe()
	}
	return st
}

// Limit returns the current rate in requests per second (0 = unlimited).
func (p *Pacer) Limit() float64 {
	r := p.Stats().Rate
	if math.IsInf(r, 1) {
		return 0
	}
	return r
}
