package exec

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/report"
)

// A create whose answer is lost does not hold its worker: the other growers go on, and the
// parked creates are settled together after the lookup window, by one read of every user page
// when that is cheaper than a lookup each.
func TestParkedCreatesFreeTheirWorkerAndSettleInOneRead(t *testing.T) {
	f := newFake()
	lost := &leaf.AmbiguousError{Method: "POST", Path: "/users", Err: errors.New("connection reset")}
	g05 := 0
	f.onCreateUser = func(ext string) (error, bool) {
		switch ext {
		case "g00", "g03":
			return lost, true // committed, answer lost
		case "g05":
			if g05++; g05 == 1 {
				return lost, false // never committed, the first time
			}
		}
		return nil, false
	}
	f.onCreateCred = func(ext, provider string) (error, bool) {
		if ext == "g01" && provider == "Valley" {
			return lost, true
		}
		return nil, false
	}
	clock := &instantClock{}
	res := Apply(context.Background(), slices.Values(planFor(t, f, manifestOf(8)).Changes), f, Options{Concurrency: 1, Clock: clock,
		LookupWindow: 5 * time.Second, ListPages: 1})
	require.Nil(t, res.Fatal)
	recs := byID(res.Records)
	for id, r := range recs {
		assert.Equal(t, report.StatusSucceeded, r.Status, "%s: %+v", id, r)
	}
	for _, id := range []string{"user:g00", "user:g03", "credential:g01/Valley"} {
		assert.True(t, recs[id].ResolvedByLookup, id)
	}
	assert.False(t, recs["user:g05"].ResolvedByLookup, "g05 was posted again after a lookup proved it absent")

	// One worker: had it waited for g00's lookup, g01's user would come after a lookup.
	i00 := slices.Index(f.calls, "POST user g00")
	i07 := slices.Index(f.calls, "POST user g07")
	require.True(t, i00 >= 0 && i07 >= 0, "%v", f.calls)
	assert.Less(t, i00, i07)
	firstList := slices.IndexFunc(f.calls, func(c string) bool { return strings.HasPrefix(c, "LIST") })
	if firstList >= 0 {
		assert.Greater(t, firstList, i07, "no lookup before every grower had its turn")
	}
	assert.Equal(t, int32(2), f.lists.Load(), "four parked creates, one read of every page, and one lookup of a user "+
		"this run created before them (g05 was not found: the lists must show users as old as it)")
	assert.Equal(t, int64(2), res.Lookups)
	for ext, n := range f.posts {
		assert.LessOrEqual(t, n, 1, "users created for %s", ext)
	}
	assert.Equal(t, 2, countCalls(f.calls, "POST user g05"))
	assert.GreaterOrEqual(t, clock.Now().Sub(time.Unix(0, 0)), 5*time.Second, "the lookup waited for the window")
}

// A read of every user page settles parked creates only while no user is being created: the
// workers pause at their next create for its length (the named lock runner.listing). The reads
// here happen mid-run, with four workers creating users around them.
func TestAFullReadPausesTheCreates(t *testing.T) {
	f := newFake()
	f.readPause = 20 * time.Millisecond
	lost := &leaf.AmbiguousError{Method: "POST", Path: "/users", Err: errors.New("connection reset")}
	seen := map[string]bool{}
	var mu sync.Mutex
	f.onCreateUser = func(ext string) (error, bool) {
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if first := !seen[ext]; first && ext[len(ext)-1] == '3' {
			seen[ext] = true
			return lost, true // committed, answer lost: parked
		}
		seen[ext] = true
		return nil, false
	}
	p := planFor(t, f, manifestOf(300))
	res := Apply(context.Background(), slices.Values(p.Changes), f, Options{Concurrency: 4, LookupWindow: 10 * time.Millisecond, ListPages: 1})
	require.Nil(t, res.Fatal)
	for id, r := range byID(res.Records) {
		require.Equal(t, report.StatusSucceeded, r.Status, "%s: %+v", id, r)
	}
	f.mu.Lock()
	total := 0
	for _, n := range f.posts {
		total += n
	}
	atReads := slices.Clone(f.postsAtReads)
	f.mu.Unlock()
	require.NotEmpty(t, atReads)
	assert.Less(t, atReads[0], total, "a read ran while users were still to be created")
	assert.Zero(t, f.readsDuringCreates.Load(), "no user create ran during a read of every page (reads at %v of %d creates)", atReads, total)
}

func countCalls(calls []string, c string) int {
	n := 0
	for _, x := range calls {
		if x == c {
			n++
		}
	}
	return n
}

// An outage (a request that met nothing but failures for its whole retry budget) stops the run:
// every later change would spend the same budget. The rest is pending, for a resume.
func TestOutageStopsTheRun(t *testing.T) {
	f := newFake()
	outage := &leaf.OutageError{Since: time.Unix(0, 0), Attempts: 40, Err: errors.New("503")}
	f.onCreateUser = func(ext string) (error, bool) {
		if ext == "g02" {
			return outage, false
		}
		return nil, false
	}
	p := planFor(t, f, manifestOf(20))
	res := Apply(context.Background(), slices.Values(p.Changes), f, Options{Concurrency: 1, Clock: &instantClock{}})
	require.Error(t, res.Fatal)
	assert.True(t, leaf.IsOutage(res.Fatal))
	recs := byID(res.Records)
	assert.Equal(t, "outage", recs["user:g02"].ErrorCode)
	assert.Equal(t, report.StatusPending, recs["user:g10"].Status, "nothing after the outage was attempted")
	assert.Len(t, res.Records, len(p.Changes), "every change has a record")
}
