package lifecycle

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// A long read says how far it got while it runs, and nothing once it is over.
func TestLongReadsShowProgress(t *testing.T) {
	ts := sandbox.NewServer(t)
	c := ts.Client(t)
	var buf bytes.Buffer
	var mu syncBuffer
	mu.w = &buf
	log := slog.New(slog.NewTextHandler(&mu, nil))
	stop := progressEvery(context.Background(), log, c, "still reading Leaf users' config", 40, 20*time.Millisecond)
	for range 3 {
		_, err := c.ListUsers(context.Background(), leaf.UserFilter{})
		require.NoError(t, err)
		time.Sleep(25 * time.Millisecond)
	}
	stop()
	out := mu.String()
	assert.Contains(t, out, "still reading Leaf users' config")
	assert.Contains(t, out, "of=40")
	n := strings.Count(out, "\n")
	time.Sleep(60 * time.Millisecond)
	assert.Equal(t, n, strings.Count(mu.String(), "\n"), "nothing is logged after stop")
}

// syncBuffer is a writer safe for the logging goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.String()
}
