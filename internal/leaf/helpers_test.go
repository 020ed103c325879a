package leaf_test

import (
	"context"
	"sync"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// fakeClock advances only when slept on, so retry and pacing tests never wait for real.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
		c.slept = append(c.slept, d)
	}
	return ctx.Err()
}

func (c *fakeClock) total() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t time.Duration
	for _, d := range c.slept {
		t += d
	}
	return t
}

// credentialFields builds a valid create body for p with recognisable values.
func credentialFields(p *leaf.Provider, prefix string) leaf.Fields {
	m := map[string]string{}
	for _, f := range p.Required {
		m[f] = prefix + "-" + p.Name + "-" + f
	}
	if p.Environment != leaf.EnvNone {
		m[leaf.FieldClientEnvironment] = leaf.EnvStage
	}
	return leaf.FieldsFromMap(m)
}

func appFields(p *leaf.Provider, prefix string) leaf.Fields {
	m := map[string]string{}
	for _, f := range p.AppKey.Required {
		m[f] = prefix + "-" + p.Name + "-" + f
	}
	for _, f := range p.AppKey.ListFields {
		m[f] = "FIELDS:READ,OPERATIONS:READ"
	}
	return leaf.FieldsFromMap(m)
}

func ptr(s string) *string { return &s }
