package lifecycle

import (
	"context"
	"log/slog"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// readProgressEvery is how often a long read or settle says how far it got.
const readProgressEvery = 10 * time.Second

// progressWhile logs, every readProgressEvery until stop is called, how many requests a phase
// has sent (of about expected, when known: 0 for unknown), so that reading 100,000 users or
// settling a crash is never minutes of silence.
func progressWhile(ctx context.Context, log *slog.Logger, c *leaf.Client, what string, expected int) (stop func()) {
	return progressEvery(ctx, log, c, what, expected, readProgressEvery)
}

func progressEvery(ctx context.Context, log *slog.Logger, c *leaf.Client, what string, expected int, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start, before := time.Now(), c.Stats().Requests
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sent := c.Stats().Requests - before
				args := []any{"requests", sent, "elapsed", time.Since(start).Round(time.Second).String()}
				if expected > 0 {
					args = append(args, "of", expected)
				}
				log.Info(what, args...)
			}
		}
	}()
	return func() { cancel(); <-done }
}
