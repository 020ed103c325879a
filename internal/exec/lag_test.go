package exec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/report"
)

var errLost = &leaf.AmbiguousError{Method: "POST", Path: "/users", Err: errors.New("connection reset")}

// A lookup that finds two users with a create's externalId is a conflict for a person (a
// skipped conflict record naming both ids, its credentials skipped), never the create's success,
// whether the create was settled by a lookup of its own or by a read of every page.
func TestALookupFindingTwoUsersIsAConflict(t *testing.T) {
	for _, tc := range []struct {
		name      string
		listPages int
	}{{"a lookup each", 0}, {"one read of every page", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.onCreateUser = func(ext string) (error, bool) {
				switch ext {
				case "g01":
					f.mu.Lock()
					f.users["twin"] = &leaf.User{ID: "twin", ExternalID: "g01"} // made by someone else meanwhile
					f.mu.Unlock()
					return errLost, true
				case "g02", "g03":
					return errLost, true
				}
				return nil, false
			}
			res := Apply(context.Background(), slices.Values(planFor(t, f, manifestOf(4)).Changes), f,
				Options{Concurrency: 1, Clock: &instantClock{}, LookupWindow: time.Second, ListPages: tc.listPages})
			require.Nil(t, res.Fatal)
			recs := byID(res.Records)
			rec := recs["user:g01"]
			assert.Equal(t, report.StatusSkipped, rec.Status, "%+v", rec)
			assert.Equal(t, change.ActionConflict, rec.Action, "counted as needing a person")
			assert.Equal(t, report.CodeConflict, rec.ErrorCode)
			assert.Contains(t, rec.Error, "twin")
			assert.Regexp(t, `\bu2\b`, rec.Error, "both ids are named")
			assert.Empty(t, rec.LeafUserID, "neither user is taken as the grower's")
			assert.Equal(t, report.StatusSkipped, recs["credential:g01/AgLeader"].Status)
			for _, ext := range []string{"g00", "g02", "g03"} {
				assert.Equal(t, report.StatusSucceeded, recs["user:"+ext].Status, ext)
			}
			for ext, n := range f.posts {
				assert.Equal(t, 1, n, "users created for %s", ext)
			}
		})
	}
}

// A read of every page that saw the account move under it still proves the users it shows;
// what it does not show is looked up one by one, and the run settles (no "list kept changing").
func TestAMovingReadSettlesByLookingUpWhatItMissed(t *testing.T) {
	f := newFake()
	f.readMoves = true
	f.onCreateUser = func(ext string) (error, bool) {
		if ext == "g01" || ext == "g02" || ext == "g05" {
			return errLost, true
		}
		return nil, false
	}
	res := Apply(context.Background(), slices.Values(planFor(t, f, manifestOf(6)).Changes), f,
		Options{Concurrency: 1, Clock: &instantClock{}, LookupWindow: time.Second, ListPages: 1})
	require.Nil(t, res.Fatal)
	for id, r := range byID(res.Records) {
		assert.Equal(t, report.StatusSucceeded, r.Status, "%s: %+v", id, r)
	}
	for ext, n := range f.posts {
		assert.Equal(t, 1, n, "users created for %s", ext)
	}
	assert.Equal(t, 1, countCalls(f.calls, "LIST "), "one read of every page")
	assert.Equal(t, 1, countCalls(f.calls, "LIST g05"), "g05, the user of the highest id, was missed by the read and looked up")
}

// Leaf's lists lag 8 s while the run was told 2 s: a user this run created before the lost
// create is not in the list when the window ends, so the window grows (twice, here) and the
// lost create is found instead of being posted again. Without the canary it would be posted
// twice. The run reports the window it ended with for the next run.
func TestTheLookupWindowGrowsOnTheLagTheRunSees(t *testing.T) {
	for _, tc := range []struct {
		name      string
		listPages int
	}{{"a lookup each", 0}, {"one read of every page", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &instantClock{}
			f := newFake()
			f.clock, f.lag = clock, 8*time.Second
			f.onCreateUser = func(ext string) (error, bool) {
				if ext == "g01" || ext == "g03" {
					return errLost, true
				}
				return nil, false
			}
			res := Apply(context.Background(), slices.Values(planFor(t, f, manifestOf(4)).Changes), f,
				Options{Concurrency: 1, Clock: clock, LookupWindow: 2 * time.Second, ListPages: tc.listPages})
			require.Nil(t, res.Fatal)
			recs := byID(res.Records)
			for _, ext := range []string{"g01", "g03"} {
				assert.Equal(t, report.StatusSucceeded, recs["user:"+ext].Status, "%+v", recs["user:"+ext])
				assert.True(t, recs["user:"+ext].ResolvedByLookup, ext)
			}
			for ext, n := range f.posts {
				assert.Equal(t, 1, n, "users created for %s", ext)
			}
			assert.Greater(t, res.LookupWindow, 8*time.Second, "the window grew past the lag")
			assert.GreaterOrEqual(t, res.ObservedLag, 2*time.Second)
		})
	}
}

// The window never grows past MaxLookupWindow: lists that do not show a user created that long
// ago are stuck, and the run stops with the creates in doubt (for the next run to settle)
// rather than post them again.
func TestListsStuckPastTheLongestWindowStopTheRun(t *testing.T) {
	clock := &instantClock{}
	f := newFake()
	f.clock, f.lag = clock, time.Hour
	f.onCreateUser = func(ext string) (error, bool) {
		if ext == "g01" {
			return errLost, true
		}
		return nil, false
	}
	res := Apply(context.Background(), slices.Values(planFor(t, f, manifestOf(2)).Changes), f,
		Options{Concurrency: 1, Clock: clock, LookupWindow: 2 * time.Second})
	require.Error(t, res.Fatal)
	assert.Contains(t, res.Fatal.Error(), "stuck")
	assert.Equal(t, report.StatusPending, byID(res.Records)["user:g01"].Status)
	assert.Equal(t, 1, f.posts["g01"])
	assert.Equal(t, MaxLookupWindow, res.LookupWindow)
}

func TestLagWindowOnlyGrows(t *testing.T) {
	l := newLagWindow(5*time.Second, discard())
	l.observe(time.Second, "test")
	assert.Equal(t, 5*time.Second, l.get(), "a short lag never lowers the window")
	l.observe(3*time.Second, "test")
	assert.Equal(t, 7*time.Second, l.get(), "twice the lag plus a second")
	l.observe(time.Hour, "test")
	assert.Equal(t, MaxLookupWindow, l.get())
	base := time.Unix(1000, 0)
	for i := range 5 {
		l.created(fmt.Sprint(i), fmt.Sprint("g", i), base.Add(time.Duration(i)*time.Second))
	}
	c, ok := l.canary(base.Add(2500 * time.Millisecond))
	require.True(t, ok)
	assert.Equal(t, "2", c.id, "the last create at or before the time")
	_, ok = l.canary(base.Add(-time.Second))
	assert.False(t, ok)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
