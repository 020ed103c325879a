package leaf

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Verdict is what the retry classifier says about one attempt.
type Verdict int

const (
	// Success: a 2xx answer.
	Success Verdict = iota
	// Retry: send the same request again after a backoff (or the 429 pause).
	Retry
	// Fail: do not retry; the answer stands.
	Fail
	// Ambiguous: a mutating request that was written and whose outcome is unknown; look the
	// object up by its natural key instead of sending it again.
	Ambiguous
)

func (v Verdict) String() string {
	return [...]string{"success", "retry", "fail", "ambiguous"}[v]
}

// Attempt describes one finished attempt for the classifier.
type Attempt struct {
	Method string
	// Safe marks a request that changes nothing even though its method is POST
	// (POST /api/authenticate).
	Safe bool
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Err is the transport error, nil when an answer came.
	Err error
	// Written reports whether the whole request was written to the connection (httptrace).
	Written bool
}

// Idempotent reports whether sending the request twice has the effect of sending it once.
func (a Attempt) Idempotent() bool {
	switch a.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return a.Safe
}

// Classify is the retry policy, a pure function of one attempt. It returns the verdict and a
// short cause ("429", "503", "network", "unsent", ...) for statistics and for saying why.
//
//   - 2xx succeeds; 429 is retried for every method (Leaf refused it unprocessed).
//   - A request that provably never left (not fully written) is retried for every method.
//   - Idempotent requests (GET, PUT, PATCH, DELETE, and POST /api/authenticate) retry on 408,
//     5xx and network errors.
//   - Any other POST that was written and got a 408, 5xx or no answer is Ambiguous.
//   - Everything else (3xx, 4xx, cancellation) fails.
func Classify(a Attempt) (Verdict, string) {
	if a.Err != nil {
		if errors.Is(a.Err, context.Canceled) || errors.Is(a.Err, context.DeadlineExceeded) {
			return Fail, "canceled"
		}
		if !a.Written {
			return Retry, "unsent"
		}
		if a.Idempotent() {
			return Retry, "network"
		}
		return Ambiguous, "network"
	}
	switch {
	case a.Status >= 200 && a.Status < 300:
		return Success, ""
	case a.Status == http.StatusTooManyRequests:
		return Retry, "429"
	case a.Status == http.StatusRequestTimeout || a.Status >= 500:
		cause := strconv.Itoa(a.Status)
		if a.Idempotent() {
			return Retry, cause
		}
		return Ambiguous, cause
	}
	return Fail, ""
}

// Backoff computes full-jitter exponential delays: a uniform random duration in
// [0, min(Cap, Base*2^retry)).
type Backoff struct {
	Base time.Duration
	Cap  time.Duration
	// Attempts is the most attempts a request gets, the first included (0: no count limit).
	Attempts int
	// Budget is the most time a request spends retrying, counted from its first attempt (0: no
	// time limit). A budget in time fits any fault rate: a 5% rate of 503s costs a change a
	// retry now and then, never its whole budget; only an outage spends it.
	Budget time.Duration
	// FirstContact is the most time a request retries transport failures (a refused or timed
	// out connection) while the client has never had an answer from Leaf (0: Budget applies):
	// a wrong URL or a closed port fails in seconds, not after the whole budget.
	FirstContact time.Duration
	// Rand returns a float in [0,1); nil uses math/rand/v2.
	Rand func() float64
}

// DefaultBackoff is the retry policy: full jitter from 250 ms up to 30 s, for up to 3 minutes
// per request, or 20 s while Leaf has never answered.
func DefaultBackoff() Backoff {
	return Backoff{Base: 250 * time.Millisecond, Cap: 30 * time.Second, Budget: 3 * time.Minute, FirstContact: 20 * time.Second}
}

// spent reports whether a request that started at start and made attempts attempts may not
// retry again after waiting delay, and whether it is the time budget that is spent.
func (b Backoff) spent(attempts int, start, now time.Time, delay time.Duration) (spent, byTime bool) {
	if b.Budget > 0 && now.Add(delay).Sub(start) > b.Budget {
		return true, true
	}
	return b.Attempts > 0 && attempts >= b.Attempts, false
}

// Delay returns the wait before retry number retry (0 for the first retry).
func (b Backoff) Delay(retry int) time.Duration {
	ceiling := b.Cap
	if retry < 30 {
		if d := b.Base << retry; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	return time.Duration(r() * float64(ceiling))
}
