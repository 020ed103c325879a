package leaf

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The pace model decides how fast leaf-import may send, from what Leaf answers. It is pure: every
// decision is a function of the answers it was told of and the times it was given, so that a
// table test can replay a scenario of hours in microseconds. Pacer wraps it with a token bucket
// and a lock.
//
// What it models: an account has a limit that nobody told us (Leaf documents "about 1,000
// requests a minute", per API owner, shared with the customer's own clients), counted in a
// window of unknown length (a second, a minute). A 429 is one of two things:
//
//   - the limit: 429s come in a cluster (several of the last answers), since once a window is
//     spent every request is refused until it resets. The requests Leaf accepted just before say
//     where the limit is: the pace drops to just under that rate, not to half of it. If the
//     refusals go on (a long window is spent), everyone pauses and one request at a time probes
//     until Leaf accepts again; then the pace is what that window let through, from its first
//     accepted request to its reset.
//   - sporadic: an isolated 429 (a busy node, a neighbour's burst). It costs a retry of that
//     request (after its Retry-After, or a short backoff) and a small, bounded slowdown that
//     recovers within seconds.
//
// Between 429s the pace climbs back to the limit it learned, then probes slowly above it (a
// neighbour may have left); with nothing learned yet, and while the callers use every request
// the pace allows, --rate auto probes fast, from Leaf's documented 1,000 a minute. An explicit
// --rate is a ceiling the pace never passes.

// LeafDocumentedRate is Leaf's documented limit, 1,000 requests a minute: where --rate auto
// starts on an account it knows nothing of.
const LeafDocumentedRate = 1000.0 / 60

// AutoMaxRate bounds --rate auto (requests per second): far above any Leaf limit, it only keeps
// a broken answer from sending the pace to infinity.
const AutoMaxRate = 1000.0

const (
	// paceBucket is the width of one bucket of the answers' history; paceHistory its length.
	paceBucket  = 100 * time.Millisecond
	paceHistory = 60 * time.Second
	// paceStep is how often the pace climbs.
	paceStep = 500 * time.Millisecond
	// paceMargin is how far under a limit the pace settles.
	paceMargin = 0.97
	// paceProbeFast multiplies the pace per step while no limit is known (--rate auto): from
	// 1,000 a minute to over 100 a second in 1.5 s.
	paceProbeFast = 2
	// paceReturn multiplies the pace per step on its way back to the limit it learned.
	paceReturn = 1.025
	// paceProbeSlow adds this share of the learned limit per step once the pace is at it (0.25%
	// a second), more the longer Leaf refuses nothing: an eighth more for each quiet step.
	paceProbeSlow = 0.00125
	// paceSporadicCut and paceSporadicFloor: an isolated 429 costs 2% of the pace, at most
	// 10% in all; paceSporadicBack of it comes back per step (2% a second).
	paceSporadicCut   = 0.98
	paceSporadicFloor = 0.90
	paceSporadicBack  = 0.01
	// paceCluster of the last paceRecent answers being 429 is the limit, not chance: 4 of 6
	// happen by chance once in about 10,000 answers at a 5% rate of sporadic 429s (measured: 3
	// of 5 took a 5% rate for the limit once in a 4,000-request run), and once in 400,000 at 2%.
	paceRecent  = 6
	paceCluster = 4
	// paceProbeEvery is the pause between probes while the limit's window is spent (no
	// Retry-After): short, so the pace resumes within a second of the window's reset.
	paceProbeEvery = time.Second
	// paceMinRate is the floor of the pace.
	paceMinRate = 0.5
	// paceSpellTime and paceSpellRefusals: a spell of 429s longer than this is a spent window,
	// not the tail of a short one that resets within the second.
	paceSpellTime     = time.Second
	paceSpellRefusals = 5
	// paceFirstProbe is the first pause of a spell of 429s without Retry-After; each further
	// 429 of the spell doubles it, up to paceProbeEvery. A window of a second resets within the
	// first pauses; a longer one is probed once a second.
	paceFirstProbe = 50 * time.Millisecond
)

// PaceReason says why the pace is below its ceiling.
type PaceReason int

const (
	// PaceAtCeiling: the pace is the ceiling (an explicit --rate), or climbing freely.
	PaceAtCeiling PaceReason = iota
	// PaceProbing: --rate auto is looking for the account's limit.
	PaceProbing
	// PaceLimited: Leaf refused requests for the limit; the pace is under the limit it learned.
	PaceLimited
	// PaceSpent: the limit's window is spent; everyone waits and a probe at a time goes out.
	PaceSpent
	// PaceSporadic: isolated 429s slowed the pace a little.
	PaceSporadic
)

// paceModel is the pure model. Times are given; nothing here sleeps or reads a clock.
type paceModel struct {
	auto    bool
	ceiling float64 // the most the pace may be (requests/second): --rate R, or AutoMaxRate
	rate    float64
	// limit is the account's limit as learned from clusters of 429s (0: none met).
	limit float64
	// sporadicBase is the pace before isolated 429s slowed it (0: not slowed).
	sporadicBase float64
	reason       PaceReason

	start      time.Time
	lastStep   time.Time
	pauseUntil time.Time
	// spell is set from the first 429 of a cluster until Leaf accepts again; spellSince is when
	// it began and spellRefused how many 429s it has had. spent is set when the spell goes on
	// (for over paceSpellTime, or paceSpellRefusals): the limit's window is spent, and requests
	// go out one probe at a time until it resets.
	spell        bool
	spent        bool
	spellSince   time.Time
	spellRefused int
	// spellAccepted is how many answers Leaf accepted in the minute before the spell began, the
	// first of them at spellFrom: for a long window, what it let through before it was spent.
	spellAccepted int
	spellFrom     time.Time

	recent    [paceRecent]bool // the last answers, true for a 429
	recentN   int
	accepted  [paceHistory / paceBucket]int32 // answers Leaf accepted, by bucket (a ring)
	granted   [paceHistory / paceBucket]int32 // requests let through, by bucket
	ringStart int64                           // bucket number of the ring's oldest slot

	answers, refused, clusters int
	// quiet counts the steps climbed since the last 429.
	quiet int
}

// newPaceModel returns a model pacing at rate under ceiling (auto: probing from rate).
func newPaceModel(auto bool, rate, ceiling float64, now time.Time) *paceModel {
	m := &paceModel{auto: auto, ceiling: ceiling, start: now, lastStep: now}
	m.rate = m.clamp(rate)
	m.ringStart = bucketOf(now) - int64(len(m.accepted)) + 1
	if auto {
		m.reason = PaceProbing
	}
	return m
}

func bucketOf(t time.Time) int64 { return t.UnixNano() / int64(paceBucket) }

// slot returns the ring slot of t's bucket, clearing the slots the ring moves past. A time
// before the ring's oldest bucket counts in that bucket.
func (m *paceModel) slot(t time.Time) int {
	n := int64(len(m.accepted))
	b := max(bucketOf(t), m.ringStart)
	if end := m.ringStart + n; b >= end {
		if b-end >= n {
			m.accepted, m.granted = [paceHistory / paceBucket]int32{}, [paceHistory / paceBucket]int32{}
		} else {
			for x := end; x <= b; x++ {
				m.accepted[mod(x, n)], m.granted[mod(x, n)] = 0, 0
			}
		}
		m.ringStart = b - n + 1
	}
	return mod(b, n)
}

func mod(x, n int64) int { return int(((x % n) + n) % n) }

// count sums ring over the last d before now.
func (m *paceModel) count(ring *[paceHistory / paceBucket]int32, now time.Time, d time.Duration) int {
	m.slot(now)
	b := bucketOf(now)
	n := int64(len(ring))
	sum := 0
	for i := int64(0); i <= int64(d/paceBucket) && b-i >= m.ringStart; i++ {
		sum += int(ring[mod(b-i, n)])
	}
	return sum
}

// acceptedRate is the rate of the answers Leaf accepted over about the last d (at most the
// history, and no longer than the model has run): their count over the time its buckets span.
func (m *paceModel) acceptedRate(now time.Time, d time.Duration) float64 {
	d = min(d, paceHistory-paceBucket)
	from := time.Unix(0, (bucketOf(now)-int64(d/paceBucket))*int64(paceBucket))
	if from.Before(m.start) {
		from = m.start
	}
	span := now.Sub(from)
	if span <= 0 {
		return 0
	}
	return float64(m.count(&m.accepted, now, d)) / span.Seconds()
}

// acceptedSince counts the answers Leaf accepted over the history before now, and returns when
// the first of them came (the start of its bucket).
func (m *paceModel) acceptedSince(now time.Time) (int, time.Time) {
	m.slot(now)
	b := bucketOf(now)
	n := int64(len(m.accepted))
	sum, first := 0, now
	for x := max(m.ringStart, b-n+1); x <= b; x++ {
		if c := int(m.accepted[mod(x, n)]); c > 0 {
			if sum == 0 {
				first = time.Unix(0, x*int64(paceBucket))
			}
			sum += c
		}
	}
	return sum, first
}

// grant records a request let through at now.
func (m *paceModel) grant(now time.Time) { m.granted[m.slot(now)]++ }

// answered records an answer Leaf did not refuse for the limit.
func (m *paceModel) answered(now time.Time) {
	m.answers++
	m.accepted[m.slot(now)]++
	m.push(false)
	if !m.spell || now.Before(m.pauseUntil) {
		return // an answer during a pause is of a request sent before it: it says nothing new
	}
	m.spell = false
	if m.spent {
		// The window reset. A spell that long is explained by a long window: pace at what
		// Leaf accepted over the last minute, if that is under the limit learned.
		m.spent = false
		// The window is as long as from its first accepted request to now that it accepts
		// again, and it let spellAccepted through: that is its rate.
		if now.Sub(m.spellSince) > 2*paceSpellTime && m.spellAccepted > 0 {
			if perWindow := float64(m.spellAccepted) / now.Sub(m.spellFrom).Seconds(); perWindow < m.limit {
				m.limit = perWindow
			}
		}
		m.rate = m.clamp(m.limit * paceMargin)
	}
	m.reason = PaceLimited
	m.lastStep = now
}

func (m *paceModel) push(refused bool) {
	m.recent[m.recentN%paceRecent] = refused
	m.recentN++
}

func (m *paceModel) clustered() bool {
	n := 0
	for _, r := range m.recent {
		if r {
			n++
		}
	}
	return n >= paceCluster
}

// refusal is what the model decides on a 429: every caller pauses until pauseUntil (zero: no
// pause), and the refused request itself waits wait before it is sent again (zero: its usual
// backoff). A refusal for the limit makes the request wait out the pause, no more.
type refusal struct {
	pauseUntil time.Time
	wait       time.Duration
}

// rateLimited records a 429 answered at now, with its Retry-After (0 when absent).
func (m *paceModel) rateLimited(now time.Time, retryAfter time.Duration) refusal {
	m.answers++
	m.refused++
	m.push(true)
	m.slot(now)
	m.quiet = 0
	if now.Before(m.pauseUntil) {
		// Nothing is sent during a pause: this request went out before it began, and its
		// refusal is the same news again. It waits out the pause.
		return refusal{pauseUntil: m.pauseUntil, wait: m.pauseUntil.Sub(now)}
	}
	if !m.spell && !m.clustered() {
		// Sporadic: this request waits, the pace gives up a little, within a bound.
		if m.sporadicBase == 0 {
			m.sporadicBase = m.rate
		}
		m.rate = m.clamp(max(m.rate*paceSporadicCut, m.sporadicBase*paceSporadicFloor))
		m.reason = PaceSporadic
		return refusal{wait: retryAfter}
	}
	if !m.spell {
		// The first 429 of a cluster: the limit is what Leaf accepted over the last second,
		// and the pace goes just under it, not to half of it.
		m.spell, m.spellSince, m.spellRefused = true, now, 0
		m.spellAccepted, m.spellFrom = m.acceptedSince(now)
		m.clusters++
		if acc := m.acceptedRate(now, time.Second); acc > 0 {
			m.limit = acc
		} else if m.limit == 0 {
			m.limit = m.rate
		}
		m.rate = m.clamp(m.limit * paceMargin)
		m.sporadicBase = 0
		m.reason = PaceLimited
	}
	m.spellRefused++
	if !m.spent && (now.Sub(m.spellSince) > paceSpellTime || m.spellRefused >= paceSpellRefusals) {
		// The refusals go on: the window is spent. One probe at a time until it resets.
		m.spent = true
		m.rate = m.clamp(float64(time.Second) / float64(paceProbeEvery))
		m.reason = PaceSpent
	}
	// Everyone waits: the window is spent for now. Retry-After says until when; without it,
	// short pauses first (a window of a second resets within them), then one probe a second.
	pause := retryAfter
	if pause <= 0 {
		pause = min(paceFirstProbe<<min(m.spellRefused-1, 10), paceProbeEvery)
	}
	if until := now.Add(pause); until.After(m.pauseUntil) {
		m.pauseUntil = until
	}
	return refusal{pauseUntil: m.pauseUntil, wait: m.pauseUntil.Sub(now)}
}

// step lets the pace climb, once per paceStep since the last climb, while no pause holds.
func (m *paceModel) step(now time.Time) {
	switch {
	case now.Before(m.pauseUntil):
		if m.pauseUntil.After(m.lastStep) {
			m.lastStep = m.pauseUntil // no climbing for the time paused
		}
		return
	case m.spell:
		m.lastStep = now
		return
	}
	for !now.Before(m.lastStep.Add(paceStep)) {
		m.lastStep = m.lastStep.Add(paceStep)
		m.climb(now)
	}
}

// climb is one step up.
func (m *paceModel) climb(now time.Time) {
	switch {
	case m.sporadicBase > 0:
		m.rate = min(m.sporadicBase, m.rate+paceSporadicBack*m.sporadicBase)
		if m.rate >= m.sporadicBase {
			m.sporadicBase = 0
			m.reason = m.restingReason()
		}
	case m.limit > 0 && m.rate < m.limit*paceMargin:
		m.rate = m.clamp(min(m.limit*paceMargin, m.rate*paceReturn))
	case !m.auto && m.limit == 0:
		m.rate = m.ceiling
	case m.auto && !m.saturated(now):
		// The callers do not use the pace they have: a higher one proves nothing. (An explicit
		// rate climbs back to its ceiling all the same: it is bounded by it.)
	case m.limit > 0:
		m.quiet++
		m.rate = m.clamp(m.rate + paceProbeSlow*m.limit*(1+float64(m.quiet)/8))
		if acc := m.acceptedRate(now, time.Second); acc > m.limit {
			m.limit = acc // Leaf accepted more than the old limit: a neighbour left
		}
	default:
		m.rate = m.clamp(m.rate * paceProbeFast)
	}
	if m.rate >= m.ceiling {
		m.reason = PaceAtCeiling
	}
}

func (m *paceModel) restingReason() PaceReason {
	switch {
	case m.limit > 0:
		return PaceLimited
	case m.auto && m.rate < m.ceiling:
		return PaceProbing
	}
	return PaceAtCeiling
}

// saturated reports whether the callers used at least 80% of the pace over the last second.
func (m *paceModel) saturated(now time.Time) bool {
	return float64(m.count(&m.granted, now, time.Second)) >= 0.8*m.rate
}

func (m *paceModel) clamp(r float64) float64 { return min(max(r, paceMinRate), m.ceiling) }

// describe says the pace and, when it is below the ceiling, why: what the progress line shows.
func (m *paceModel) describe() string {
	switch m.reason {
	case PaceProbing:
		return fmt.Sprintf("probing Leaf's limit: %s", perSecond(m.rate))
	case PaceLimited:
		return fmt.Sprintf("Leaf answered 429: pacing at %s (its limit for us is about %s)", perSecond(m.rate), perSecond(m.limit))
	case PaceSpent:
		return "Leaf answered 429: its limit is spent, waiting for it to reset"
	case PaceSporadic:
		return fmt.Sprintf("sporadic 429s from Leaf: pacing at %s", perSecond(m.rate))
	}
	return perSecond(m.rate)
}

func perSecond(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f/s", r)
	}
	return fmt.Sprintf("%.1f/s", r)
}

// headerPause reads the rate-limit headers an answer may carry (Leaf documents none; doctor
// reports whether an account sends them): when they say that nothing remains of the window, it
// returns when the window resets. X-RateLimit-* and the IETF draft's RateLimit-* are read;
// Reset is delta-seconds, or a Unix time when it is larger than a day.
func headerPause(h http.Header, now time.Time) (time.Time, bool) {
	for _, prefix := range []string{"X-RateLimit-", "RateLimit-"} {
		rem := strings.TrimSpace(h.Get(prefix + "Remaining"))
		reset := strings.TrimSpace(h.Get(prefix + "Reset"))
		if rem == "" || reset == "" {
			continue
		}
		if n, err := strconv.ParseFloat(rem, 64); err != nil || n > 0 {
			return time.Time{}, false
		}
		v, err := strconv.ParseFloat(reset, 64)
		if err != nil || v < 0 {
			return time.Time{}, false
		}
		if v > 86400 {
			t := time.Unix(int64(v), 0)
			return t, t.After(now) && t.Sub(now) <= time.Hour
		}
		return now.Add(time.Duration(v * float64(time.Second))), v > 0
	}
	return time.Time{}, false
}

// exhausted records that Leaf said (in rate-limit headers) that nothing remains of the window
// until until: everyone pauses until then.
func (m *paceModel) exhausted(until time.Time) {
	if until.After(m.pauseUntil) {
		m.pauseUntil = until
	}
}
