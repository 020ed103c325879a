package leaf_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

func TestPacerKeepsTheRate(t *testing.T) {
	clk := newFakeClock()
	p := leaf.NewPacer(10, 2, clk)
	start := clk.Now()
	for range 102 {
		require.NoError(t, p.Wait(context.Background()))
	}
	// 2 from the burst, then 100 at 10/s.
	assert.InDelta(t, 10*time.Second, clk.Now().Sub(start), float64(50*time.Millisecond))
}

// A cluster of 429s is the account's limit: with a Retry-After every caller waits it out, and
// the pace drops under what Leaf accepted, not to half of the rate.
func TestPacerLimitPausesEveryoneAndLowersTheRateToTheLimit(t *testing.T) {
	clk := newFakeClock()
	p := leaf.NewPacer(10, 1, clk)
	for range 30 {
		require.NoError(t, p.Wait(context.Background()))
		p.Answered(nil)
	}
	for range 4 {
		p.RateLimited(3 * time.Second)
	}
	st := p.Stats()
	assert.Equal(t, 1, st.LimitHits)
	assert.Equal(t, 4, st.RateLimited)
	assert.InDelta(t, 9.7, st.Rate, 1, "97% of the 10 a second Leaf accepted, not half of the rate")
	assert.Contains(t, st.Reason, "Leaf answered 429: pacing at")
	before := clk.Now()
	require.NoError(t, p.Wait(context.Background()))
	assert.GreaterOrEqual(t, clk.Now().Sub(before), 3*time.Second, "waits out the Retry-After")
}

// An isolated 429 does not pause the others: the refused request waits its own Retry-After.
func TestPacerSporadic429IsTheRequestsOwn(t *testing.T) {
	clk := newFakeClock()
	p := leaf.NewPacer(10, 1, clk)
	for range 5 {
		require.NoError(t, p.Wait(context.Background()))
		p.Answered(nil)
	}
	assert.Equal(t, time.Second, p.RateLimited(time.Second))
	before := clk.Now()
	require.NoError(t, p.Wait(context.Background()))
	assert.Less(t, clk.Now().Sub(before), 200*time.Millisecond, "no pause for the others")
	assert.InDelta(t, 9.8, p.Limit(), 0.2, "2% less, and climbing back")
}

func TestPacerUnlimited(t *testing.T) {
	clk := newFakeClock()
	p := leaf.NewPacer(0, 1, clk)
	for range 1000 {
		require.NoError(t, p.Wait(context.Background()))
	}
	assert.Zero(t, clk.total())
	for range 4 {
		p.RateLimited(time.Second)
	}
	require.NoError(t, p.Wait(context.Background()))
	assert.Equal(t, time.Second, clk.total(), "the limit's 429s pause even when unlimited")
}

func TestPacerWaitHonoursCancel(t *testing.T) {
	p := leaf.NewPacer(1, 1, nil)
	require.NoError(t, p.Wait(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, p.Wait(ctx), context.Canceled)
}
