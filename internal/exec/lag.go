package exec

import (
	"log/slog"
	"sync"
	"time"
)

// MaxLookupWindow bounds how far the lookup window grows on what a run observes: past it, a
// list that still does not show a user is an outage of Leaf's lists, not lag.
const MaxLookupWindow = 2 * time.Minute

// lagWindow is the run's lookup window: how long a user just created may take to appear in
// Leaf's lists, so how long a lookup must wait before it may conclude that a create whose answer
// was lost did not happen. It starts at what the run was given and only grows, on evidence the
// run sees of its own creates:
//   - a lookup that missed a user and found it later: the lag was at least the time from the
//     lost answer to the miss;
//   - a complete read of every user page that does not show a user this run created (and was
//     answered for) some seconds earlier: the lag is at least those seconds.
//
// The window then grows to twice the lag observed plus a second, for the rest of the run, and
// the run reports it (Result.LookupWindow) so that the next run starts from it.
type lagWindow struct {
	log *slog.Logger

	mu       sync.Mutex
	window   time.Duration
	observed time.Duration // the longest lag seen
	// recent are the users this run created, oldest first, for as long as a read could miss
	// them: what a complete read is checked against.
	recent []createdUser
}

type createdUser struct {
	id, externalID string
	at             time.Time // when Leaf answered the create
}

func newLagWindow(start time.Duration, log *slog.Logger) *lagWindow {
	return &lagWindow{window: start, log: log}
}

// get returns the current window.
func (l *lagWindow) get() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.window
}

// longest returns the longest lag the run observed (0: none).
func (l *lagWindow) longest() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.observed
}

// observe records a list lag of at least lag, growing the window past it.
func (l *lagWindow) observe(lag time.Duration, how string) {
	if lag <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.observed = max(l.observed, lag)
	want := min(2*lag+time.Second, MaxLookupWindow).Round(100 * time.Millisecond)
	if want <= l.window {
		return
	}
	l.log.Warn("Leaf's user list lags more than the lookup window: waiting longer before a create whose answer was lost is "+
		"taken as not done", "observedLag", lag.Round(100*time.Millisecond).String(), "how", how,
		"lookupWindow", l.window.String(), "newLookupWindow", want.String())
	l.window = want
}

// created records that Leaf answered the create of user id (externalID ext) at at.
func (l *lagWindow) created(id, ext string, at time.Time) {
	if id == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Keep what a read or a canary could still need: creates younger than twice the window
	// (and at least 20 s), not a whole run's.
	keep := max(2*l.window, 20*time.Second)
	drop := 0
	for drop < len(l.recent) && at.Sub(l.recent[drop].at) > keep {
		drop++
	}
	if drop > 0 {
		l.recent = append(l.recent[:0], l.recent[drop:]...)
	}
	l.recent = append(l.recent, createdUser{id: id, externalID: ext, at: at})
}

// canary returns the last user this run created at or before t: a user Leaf's lists must show
// by the time a lookup concludes that a create lost at t did not happen. If they do not show it,
// the window is too short for the lag of the moment.
func (l *lagWindow) canary(t time.Time) (createdUser, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.recent) - 1; i >= 0; i-- {
		if !l.recent[i].at.After(t) {
			return l.recent[i], true
		}
	}
	return createdUser{}, false
}

// checkRead compares a complete read of every user, started at readStart, with the users this
// run created before it: one missing is a lag of at least the time from its create to the read.
func (l *lagWindow) checkRead(readStart time.Time, seen func(id string) bool) {
	l.mu.Lock()
	var lag time.Duration
	for _, c := range l.recent {
		if !c.at.Before(readStart) {
			break
		}
		if !seen(c.id) {
			lag = max(lag, readStart.Sub(c.at))
		}
	}
	l.mu.Unlock()
	l.observe(lag, "a read of every user page did not show a user this run created")
}
