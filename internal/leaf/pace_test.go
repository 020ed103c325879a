package leaf

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// acceptN records n answers spread evenly over the second before end.
func acceptN(m *paceModel, n int, end time.Time) {
	for i := range n {
		m.answered(end.Add(-time.Second + time.Duration(i+1)*time.Second/time.Duration(n)))
	}
}

// The model's decisions, one scenario a row: what it paces at, and why, after what it was told.
func TestPaceDecisions(t *testing.T) {
	cases := []struct {
		name       string
		auto       bool
		rate       float64
		run        func(m *paceModel) refusal
		wantRate   float64
		wantLimit  float64
		wantReason PaceReason
		wantPause  time.Time // when everyone may send again; zero for no pause
		wantWait   time.Duration
	}{
		{name: "an isolated 429 costs its own Retry-After and 2% of the pace", rate: 100,
			run: func(m *paceModel) refusal {
				acceptN(m, 50, at(time.Second))
				return m.rateLimited(at(time.Second), 1500*time.Millisecond)
			},
			wantRate: 98, wantReason: PaceSporadic, wantWait: 1500 * time.Millisecond},
		{name: "isolated 429s slow the pace by 10% at most", rate: 100,
			run: func(m *paceModel) refusal {
				var r refusal
				for i := range 20 {
					end := at(time.Duration(i+1) * 100 * time.Millisecond)
					acceptN(m, 6, end)
					r = m.rateLimited(end, 0)
				}
				return r
			},
			wantRate: 90, wantReason: PaceSporadic},
		{name: "a cluster of 429s is the limit: the pace goes just under what Leaf accepted, not to half", rate: 100,
			run: func(m *paceModel) refusal {
				acceptN(m, 80, at(time.Second))
				var r refusal
				for i := range 4 {
					r = m.rateLimited(at(time.Second+time.Duration(i)*time.Millisecond), 0)
				}
				return r
			},
			wantRate: 77.6, wantLimit: 80, wantReason: PaceLimited, wantPause: at(1053 * time.Millisecond)},
		{name: "a cluster with Retry-After pauses everyone until then", rate: 100,
			run: func(m *paceModel) refusal {
				acceptN(m, 80, at(time.Second))
				var r refusal
				for range 4 {
					r = m.rateLimited(at(time.Second), 2*time.Second)
				}
				return r
			},
			wantRate: 77.6, wantLimit: 80, wantReason: PaceLimited, wantPause: at(3 * time.Second)},
		{name: "refusals that go on: the window is spent, one probe a second", rate: 100,
			run: func(m *paceModel) refusal {
				acceptN(m, 80, at(time.Second))
				var r refusal
				now := at(time.Second)
				for range 8 { // each one as the pause before it ends: a probe refused
					r = m.rateLimited(now, 0)
					now = now.Add(time.Millisecond)
					if !r.pauseUntil.IsZero() {
						now = r.pauseUntil
					}
				}
				return r
			},
			// three sporadic, then pauses of 0.05, 0.1, 0.2, 0.4 s, then spent: 0.8 s.
			wantRate: 1, wantLimit: 80, wantReason: PaceSpent, wantPause: at(1003*time.Millisecond + 750*time.Millisecond + 800*time.Millisecond)},
		{name: "a 429 during a pause is old news: it neither extends the pause nor counts", rate: 100,
			run: func(m *paceModel) refusal {
				acceptN(m, 80, at(time.Second))
				var r refusal
				for i := range 20 {
					r = m.rateLimited(at(time.Second+time.Duration(i)*time.Millisecond), 0)
				}
				return r
			},
			wantRate: 77.6, wantLimit: 80, wantReason: PaceLimited, wantPause: at(1053 * time.Millisecond)},
		{name: "after a spent minute window, the pace is what the last minute accepted", auto: true, rate: 400,
			run: func(m *paceModel) refusal {
				for s := 1; s <= 15; s++ { // 400/s for 15 s: 6,000, the window's limit
					acceptN(m, 400, at(time.Duration(s)*time.Second))
				}
				for i := range 45 { // then refused until the minute ends, one probe a second
					for k := range 4 {
						m.rateLimited(at(15*time.Second+time.Duration(i)*time.Second+time.Duration(k)*time.Millisecond), 0)
					}
				}
				m.answered(at(60*time.Second + 10*time.Millisecond))
				return refusal{}
			},
			wantRate: 97, wantLimit: 100, wantReason: PaceLimited},
		{name: "a minute window that resets more than a minute after its burst: the burst still counts", auto: true, rate: 400,
			run: func(m *paceModel) refusal {
				for s := 1; s <= 15; s++ {
					acceptN(m, 400, at(time.Duration(s)*time.Second))
				}
				for i := range 24 { // refused until 63 s, a probe every 2 s
					for k := range 4 {
						m.rateLimited(at(15*time.Second+time.Duration(2*i)*time.Second+time.Duration(k)*time.Millisecond), 0)
					}
				}
				m.answered(at(64 * time.Second))
				return refusal{}
			},
			// 6,000 over the 64 s from the first accepted answer (at 0.0125 s, its bucket at 0)
			wantRate: 0.97 * 6000 / 64, wantLimit: 6000.0 / 64, wantReason: PaceLimited},
		{name: "an explicit rate is never passed", rate: 50,
			run: func(m *paceModel) refusal {
				for s := 1; s <= 30; s++ {
					acceptN(m, 50, at(time.Duration(s)*time.Second))
					for range 50 {
						m.grant(at(time.Duration(s) * time.Second))
					}
					m.step(at(time.Duration(s) * time.Second))
				}
				return refusal{}
			},
			wantRate: 50, wantReason: PaceAtCeiling},
		{name: "auto probes fast while nothing is known and the callers use the pace", auto: true, rate: 10,
			run: func(m *paceModel) refusal {
				for range 10 {
					m.grant(at(900 * time.Millisecond))
				}
				m.step(at(time.Second))
				return refusal{}
			},
			wantRate: 20, wantReason: PaceProbing},
		{name: "auto does not climb when the callers do not use the pace", auto: true, rate: 10,
			run: func(m *paceModel) refusal {
				for range 3 {
					m.grant(at(900 * time.Millisecond))
				}
				m.step(at(time.Second))
				return refusal{}
			},
			wantRate: 10, wantReason: PaceProbing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ceiling := c.rate
			if c.auto {
				ceiling = AutoMaxRate
			}
			m := newPaceModel(c.auto, c.rate, ceiling, t0)
			r := c.run(m)
			assert.InEpsilon(t, c.wantRate, m.rate, 0.01, "rate")
			if c.wantLimit > 0 {
				assert.InEpsilon(t, c.wantLimit, m.limit, 0.01, "limit")
			} else {
				assert.Zero(t, m.limit, "limit")
			}
			assert.Equal(t, c.wantReason, m.reason, "reason: %s", m.describe())
			assert.Equal(t, c.wantPause, r.pauseUntil, "pause until")
			if r.pauseUntil.IsZero() {
				assert.Equal(t, c.wantWait, r.wait)
			}
		})
	}
}

// A sporadic slowdown comes back within seconds.
func TestPaceRecoversFromSporadic429s(t *testing.T) {
	m := newPaceModel(false, 100, 100, t0)
	for i := range 5 {
		acceptN(m, 10, at(time.Duration(i+1)*100*time.Millisecond))
		m.rateLimited(at(time.Duration(i+1)*100*time.Millisecond), 0)
	}
	require.Less(t, m.rate, 95.0)
	m.step(at(5 * time.Second))
	assert.Equal(t, 100.0, m.rate)
	assert.Equal(t, PaceAtCeiling, m.reason)
}

// simClock is a clock whose time moves only when someone sleeps.
type simClock struct{ now time.Time }

func (c *simClock) Now() time.Time { return c.now }
func (c *simClock) Sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return ctx.Err()
}

// window is a fixed-window rate limit, as the sandbox's --rate-limit: limit requests per window.
type window struct {
	limit int
	every time.Duration
	start time.Time
	n     int
}

func (w *window) allow(now time.Time) bool {
	if now.Sub(w.start) >= w.every {
		w.start = now.Truncate(w.every)
		w.n = 0
	}
	w.n++
	return w.n <= w.limit
}

type simResult struct {
	wall     time.Duration
	requests int
	refused  int
}

// simulate sends until done requests were accepted, through a Pacer on a fake clock against a
// fixed window (and a neighbour taking its share of it at neighbourRate), 429s drawn at
// sporadic besides. A refused request goes out again after the wait the pacer gives it, while
// the others go on (as the workers do).
func simulate(t *testing.T, p *Pacer, clk *simClock, lim *window, neighbourRate, sporadic float64, done int) simResult {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	start := clk.Now()
	var res simResult
	nextNeighbour := start
	var retryAt []time.Time
	for accepted := 0; accepted < done; {
		require.NoError(t, p.Wait(context.Background()))
		now := clk.Now()
		for neighbourRate > 0 && !nextNeighbour.After(now) {
			lim.allow(nextNeighbour)
			nextNeighbour = nextNeighbour.Add(time.Duration(float64(time.Second) / neighbourRate))
		}
		if len(retryAt) > 0 && retryAt[0].After(now) {
			// the retried request is not due: a new one goes instead (another worker)
		} else if len(retryAt) > 0 {
			retryAt = retryAt[1:]
		}
		res.requests++
		if !lim.allow(now) || rng.Float64() < sporadic {
			res.refused++
			wait := p.RateLimited(0)
			retryAt = append(retryAt, now.Add(max(wait, 250*time.Millisecond)))
			continue
		}
		p.Answered(nil)
		accepted++
	}
	res.wall = clk.Now().Sub(start)
	return res
}

// --rate auto against fixed windows: it converges on the limit (at least 95% of it) with at
// most 2% of its requests refused, shares a limit with a neighbour politely, and an explicit
// rate under sporadic 429s keeps its pace within 30%.
func TestPaceAgainstLimitsNobodyToldUs(t *testing.T) {
	cases := []struct {
		name          string
		pacer         func(clk *simClock) *Pacer
		limit         int
		every         time.Duration
		neighbour     float64
		sporadic      float64
		requests      int
		minEfficiency float64 // achieved rate / what the limit leaves us
		maxRefused    float64
		available     float64 // requests per second left for us
	}{
		{name: "6,000 a minute", pacer: func(c *simClock) *Pacer { return NewAutoPacer(0, 2, c) },
			limit: 6000, every: time.Minute, requests: 6200, minEfficiency: 0.95, maxRefused: 0.02, available: 100},
		{name: "100 a second", pacer: func(c *simClock) *Pacer { return NewAutoPacer(0, 2, c) },
			limit: 100, every: time.Second, requests: 6200, minEfficiency: 0.95, maxRefused: 0.02, available: 100},
		{name: "100 a second shared with a neighbour at 30/s", pacer: func(c *simClock) *Pacer { return NewAutoPacer(0, 2, c) },
			limit: 100, every: time.Second, neighbour: 30, requests: 6200, minEfficiency: 0.9, maxRefused: 0.03, available: 70},
		{name: "2% sporadic 429s at --rate 100", pacer: func(c *simClock) *Pacer { return NewPacer(100, 2, c) },
			limit: math.MaxInt, every: time.Second, sporadic: 0.02, requests: 4000, minEfficiency: 1 / 1.3, maxRefused: 0.03, available: 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := &simClock{now: t0}
			p := c.pacer(clk)
			res := simulate(t, p, clk, &window{limit: c.limit, every: c.every, start: clk.Now().Truncate(c.every)}, c.neighbour, c.sporadic, c.requests)
			achieved := float64(c.requests) / res.wall.Seconds()
			refused := float64(res.refused) / float64(res.requests)
			st := p.Stats()
			t.Logf("%s: %.1f/s of %.0f available (%.3f), %d of %d refused (%.2f%%), pace %.1f/s, limit %.1f/s, %s",
				c.name, achieved, c.available, achieved/c.available, res.refused, res.requests, 100*refused, st.Rate, st.Limit, st.Reason)
			assert.GreaterOrEqual(t, achieved/c.available, c.minEfficiency)
			assert.LessOrEqual(t, refused, c.maxRefused)
		})
	}
}

// Rate-limit headers that say the window is spent pause everyone until it resets; others are
// ignored.
func TestHeaderPause(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	cases := []struct {
		name    string
		headers map[string]string
		want    time.Time
		ok      bool
	}{
		{"none", nil, time.Time{}, false},
		{"some remain", map[string]string{"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "10"}, time.Time{}, false},
		{"spent, delta seconds", map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"}, now.Add(2 * time.Second), true},
		{"spent, a Unix time", map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1800000005"}, now.Add(5 * time.Second), true},
		{"spent, IETF names", map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "1"}, now.Add(time.Second), true},
		{"a reset hours away is not believed", map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1800090000"}, time.Unix(1800090000, 0), false},
		{"garbage", map[string]string{"X-RateLimit-Remaining": "none", "X-RateLimit-Reset": "soon"}, time.Time{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range c.headers {
				h.Set(k, v)
			}
			got, ok := headerPause(h, now)
			assert.Equal(t, c.ok, ok)
			if c.ok {
				assert.Equal(t, c.want, got)
			}
		})
	}
	clk := &simClock{now: now}
	p := NewPacer(10, 1, clk)
	p.Answered(http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"3"}})
	require.NoError(t, p.Wait(context.Background()))
	assert.GreaterOrEqual(t, clk.now.Sub(now), 3*time.Second, "waits for the window to reset")
}
