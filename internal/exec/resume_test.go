package exec

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/report"
)

// userIntents returns unresolved user-create intents for ext.
func userIntents(ext ...string) *report.Prior {
	p := &report.Prior{}
	for _, e := range ext {
		p.Unresolved = append(p.Unresolved, report.Intent{StepRef: report.StepRef{ChangeID: "user/" + e,
			Step: report.StepPost, Phase: 1, Kind: "user", Action: "create", ExternalID: e}})
	}
	return p
}

// The intents share one lookup window: once it has passed, each further absent user costs
// one list, not a window of re-checks of its own.
func TestResolveSharesOneLookupWindow(t *testing.T) {
	f := newFake()
	_, err := f.CreateUser(context.Background(), leaf.UserFields{ExternalID: new("here")})
	require.NoError(t, err)
	clock := &instantClock{}
	prior := userIntents("gone1", "here", "gone2", "gone3")
	f.lists.Store(0)

	created, err := Resolve(context.Background(), f, prior.Unresolved, (*Journal)(nil).Resolved, 5*time.Second, 1, clock, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"here": "u1"}, created)
	// gone1 is re-checked every 500 ms for 5 s (11 lists); the others find the window over.
	assert.EqualValues(t, 11+3, f.lists.Load())
}

// An absent user is re-checked for the window; several intents are looked up at once. The
// outcomes are journaled.
func TestResolveLooksUpConcurrentlyAndJournals(t *testing.T) {
	f := newFake()
	const n = 4
	var mu sync.Mutex
	inside := map[string]bool{}
	all := make(chan struct{})
	f.onList = func(ext string) {
		mu.Lock()
		inside[ext] = true
		if len(inside) == n {
			select {
			case <-all:
			default:
				close(all)
			}
		}
		mu.Unlock()
		select { // wait for the other lookups to start: a sequential Resolve never gets here
		case <-all:
		case <-time.After(5 * time.Second):
		}
	}
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := OpenJournal(path, report.Header{RunID: "r2"})
	require.NoError(t, err)
	prior := userIntents("a", "b", "c", "d")

	created, err := Resolve(context.Background(), f, prior.Unresolved, j.Resolved, 50*time.Millisecond, n, leaf.SystemClock{}, nil)
	require.NoError(t, err)
	require.NoError(t, j.Close())
	assert.Empty(t, created)
	select {
	case <-all:
	default:
		t.Fatal("the lookups ran one after another")
	}
	assert.Greater(t, int(f.lists.Load()), n, "an absent fresh user is re-checked within the window")

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines, err := report.ReadJournal(bytes.NewReader(data))
	require.NoError(t, err)
	var absent []string
	for _, line := range lines {
		if l, ok := line.(*report.Outcome); ok {
			assert.Equal(t, report.OutcomeAbsent, l.Status)
			assert.Equal(t, "r2", l.SettledBy, "the run that looked it up")
			absent = append(absent, l.ExternalID)
		}
	}
	assert.ElementsMatch(t, []string{"a", "b", "c", "d"}, absent)
}

// A user create in doubt whose lookup finds two Leaf users with its externalId (another tool
// made one) did happen, but neither user is known to be the grower's: it is not counted as
// created (the plan that follows reads both and names the conflict), and its outcome names no
// id.
func TestSettlingAUserCreateThatFindsTwoUsersTakesNeither(t *testing.T) {
	f := newFake()
	for range 2 {
		_, err := f.CreateUser(context.Background(), leaf.UserFields{ExternalID: new("twin")})
		require.NoError(t, err)
	}
	_, err := f.CreateUser(context.Background(), leaf.UserFields{ExternalID: new("one")})
	require.NoError(t, err)
	var mu sync.Mutex
	outcomes := map[string]string{}
	created, err := Resolve(context.Background(), f, userIntents("twin", "one").Unresolved,
		func(in report.Intent, status change.Outcome, id string) error {
			mu.Lock()
			defer mu.Unlock()
			outcomes[in.ExternalID] = string(status) + " " + id
			return nil
		}, time.Second, 2, &instantClock{}, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"one": "u3"}, created, "neither twin is taken as the grower's")
	assert.Equal(t, string(report.OutcomeFound)+" ", outcomes["twin"])
	assert.Equal(t, string(report.OutcomeFound)+" u3", outcomes["one"])
}
