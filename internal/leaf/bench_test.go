package leaf_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// BenchmarkClientThroughput measures the client against the in-process sandbox with faults off
// and 16 workers: requests per second and connections opened (target: at least 3,000 req/s,
// no more connections than workers).
func BenchmarkClientThroughput(b *testing.B) {
	const workers = 16
	ts := sandbox.NewServer(b)
	p, _ := leaf.LookupProvider("JohnDeere")
	var ids []string
	for i := range 200 {
		u := ts.AddUser(&sandbox.User{ExternalID: fmt.Sprint("g-", i), Name: "grower",
			Credentials: map[string]*sandbox.Credential{"JohnDeere": {Fields: map[string]string{
				"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "STAGE"}}}})
		ids = append(ids, u.ID)
	}
	c := ts.Client(b, leaf.WithConcurrency(workers))
	ctx := context.Background()
	if err := c.Authenticate(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				id := ids[i%int64(len(ids))]
				var err error
				if i%2 == 0 {
					_, err = c.GetUser(ctx, id)
				} else {
					_, err = c.GetCredential(ctx, id, p)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	st := ts.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(st.Connections.Opened), "conns")
	if st.Connections.Opened > workers {
		b.Errorf("opened %d connections for %d workers", st.Connections.Opened, workers)
	}
}
