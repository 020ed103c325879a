package leaf

import (
	"context"
	"math"
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

// Pacer is the process-wide rate limiter that every request to Leaf passes, retries and
// lookups included. It wraps a token bucket (golang.org/x/time/rate) and adds what Leaf's
// shared 1000 requests/minute limit needs: a 429 pauses every caller until the stated time
// and halves the rate (multiplicative decrease), which then recovers slowly to the target.
type Pacer struct {
	clock Clock

	mu         sync.Mutex
	lim        *rate.Limiter // nil when unlimited
	target     float64       // requests per second; 0 = unlimited
	current    float64
	pauseUntil time.Time
	lastAdjust time.Time
	pauses     int
}

const (
	// DefaultRetryAfter is the pause after a 429 that carries no Retry-After header.
	DefaultRetryAfter = 5 * time.Second
	// pacerRecoverEvery and pacerRecoverStep: after a decrease the rate climbs back by a tenth
	// of the target every two seconds without a new 429.
	pacerRecoverEvery = 2 * time.Second
	pacerRecoverStep  = 0.1
	pacerMinRate      = 0.5
)

// NewPacer returns a pacer allowing perSecond requests per second with the given burst.
// perSecond <= 0 means unlimited (429 pauses still apply). A nil clock uses SystemClock.
func NewPacer(perSecond float64, burst int, clock Clock) *Pacer {
	if clock == nil {
		clock = SystemClock{}
	}
	if burst < 1 {
		burst = 1
	}
	p := &Pacer{clock: clock, target: math.Max(perSecond, 0), current: math.Max(perSecond, 0)}
	if perSecond > 0 {
		p.lim = rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	return p
}

// Wait blocks until the caller may send one request: past any 429 pause, then through the
// token bucket.
func (p *Pacer) Wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := p.clock.Now()
		p.recover(now)
		until := p.pauseUntil
		p.mu.Unlock()
		if !now.Before(until) {
			break
		}
		if err := p.clock.Sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
	if p.lim == nil {
		return ctx.Err()
	}
	r := p.lim.ReserveN(p.clock.Now(), 1)
	if !r.OK() {
		return context.Canceled
	}
	if err := p.clock.Sleep(ctx, r.DelayFrom(p.clock.Now())); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// RateLimited records a 429: every caller pauses until now+retryAfter (DefaultRetryAfter when
// retryAfter is zero) and the rate is halved.
func (p *Pacer) RateLimited(retryAfter time.Duration) {
	if retryAfter <= 0 {
		retryAfter = DefaultRetryAfter
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	if until := now.Add(retryAfter); until.After(p.pauseUntil) {
		p.pauseUntil = until
		p.pauses++
	}
	if p.lim != nil {
		p.current = math.Max(p.current/2, math.Min(pacerMinRate, p.target))
		p.lim.SetLimitAt(now, rate.Limit(p.current))
	}
	// Recovery starts counting when the pause ends.
	p.lastAdjust = p.pauseUntil
}

// recover raises a lowered rate by one step per pacerRecoverEvery. p.mu is held.
func (p *Pacer) recover(now time.Time) {
	if p.lim == nil || p.current >= p.target || now.Sub(p.lastAdjust) < pacerRecoverEvery {
		return
	}
	steps := float64(now.Sub(p.lastAdjust) / pacerRecoverEvery)
	p.current = math.Min(p.target, p.current+steps*pacerRecoverStep*p.target)
	p.lim.SetLimitAt(now, rate.Limit(p.current))
	p.lastAdjust = now
}

// Limit returns the current rate in requests per second (0 = unlimited).
func (p *Pacer) Limit() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recover(p.clock.Now())
	return p.current
}

// Pauses returns how many 429 pauses were started or extended.
func (p *Pacer) Pauses() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pauses
}
