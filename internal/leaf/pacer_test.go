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

func TestPacer429PausesEveryoneAndHalvesTheRate(t *testing.T) {
	clk := newFakeClock()
	p := leaf.NewPacer(10, 1, clk)
	require.NoError(t, p.Wait(context.Background()))
	p.RateLimited(3 * time.Second)
	assert.Equal(t, 5.0, p.Limit())
	before := clk.Now()
	require.NoError(t, p.Wait(context.Background()))
	assert.GreaterOrEqual(t, clk.Now().Sub(before), 3*time.Second, "waits out the pause")
	assert.Equal(t, 1, p.Pauses())

	p.RateLimited(0)
	assert.Equal(t, 2.5, p.Limit())
	before = clk.Now()
	require.NoError(t, p.Wait(context.Background()))
	assert.GreaterOrEqual(t, clk.Now().Sub(before), leaf.DefaultRetryAfter, "no Retry-After pauses for the default")

	// Slow recovery: a tenth of the target every 2 s.
	require.NoError(t, clk.Sleep(context.Background(), 2*time.Second))
	assert.InDelta(t, 3.5, p.Limit(), 0.01)
	require.NoError(t, clk.Sleep(context.Background(), time.Minute))
	assert.Equal(t, 10.0, p.Limit(), "recovers to the target, never above")
}

func TestPacerUnlimited(t *testing.T) {
	clk := newFakeClock()
	p := leaf.NewPacer(0, 1, clk)
	for range 1000 {
		require.NoError(t, p.Wait(context.Background()))
	}
	assert.Zero(t, clk.total())
	p.RateLimited(time.Second)
	require.NoError(t, p.Wait(context.Background()))
	assert.Equal(t, time.Second, clk.total(), "429 pauses even when unlimited")
}

func TestPacerWaitHonoursCancel(t *testing.T) {
	p := leaf.NewPacer(1, 1, nil)
	require.NoError(t, p.Wait(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, p.Wait(ctx), context.Canceled)
}
