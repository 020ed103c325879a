package leaf

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
)

// clientStats are the process-wide request counters of a Client.
type clientStats struct {
	requests atomic.Int64
	auths    atomic.Int64
	mu       sync.Mutex
	retries  map[string]int64
}

func (s *clientStats) retry(cause string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retries == nil {
		s.retries = make(map[string]int64)
	}
	s.retries[cause]++
}

// Stats is a snapshot of a client's counters.
type Stats struct {
	// Requests counts every attempt sent, authentication included.
	Requests int64
	// Authentications counts POST /api/authenticate calls.
	Authentications int64
	// Retries counts retried attempts by cause ("429", "503", "network", ...).
	Retries map[string]int64
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	c.stats.mu.Lock()
	defer c.stats.mu.Unlock()
	return Stats{
		Requests:        c.stats.requests.Load(),
		Authentications: c.stats.auths.Load(),
		Retries:         maps.Clone(c.stats.retries),
	}
}

// CallStats counts what the funnel did for one logical operation (one change of a plan, or a
// state read whose pages go out in parallel): attempts sent, retries by cause and the last HTTP
// status. The funnel may record into it from several goroutines at once; read it once the
// operation has returned.
type CallStats struct {
	mu         sync.Mutex
	Attempts   int
	Retries    map[string]int
	LastStatus int
}

type callStatsKey struct{}

// WithCallStats returns a context under which the funnel records into s.
func WithCallStats(ctx context.Context, s *CallStats) context.Context {
	return context.WithValue(ctx, callStatsKey{}, s)
}

func callStatsFrom(ctx context.Context) *CallStats {
	s, _ := ctx.Value(callStatsKey{}).(*CallStats)
	return s
}

func (s *CallStats) attempt(status int) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Attempts++
	s.LastStatus = status
}

func (s *CallStats) retry(cause string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Retries == nil {
		s.Retries = make(map[string]int)
	}
	s.Retries[cause]++
}
