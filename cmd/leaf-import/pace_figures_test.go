package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// paceFigures measures --rate auto against limits nobody told it, and an explicit rate under
// sporadic 429s, as the pacing issue sets them: each a ratio measured in one run.
func paceFigures(b *testing.B, bin, dir string, add func(name string, value, target float64, atMost bool, how string)) {
	g3000 := writeGrowersCSV(b, filepath.Join(dir, "g3000.csv"), 3000)
	for _, c := range []struct {
		name, limit string
		perSecond   float64
		neighbour   float64
		efficiency  float64
		maxRefused  float64
	}{
		{"auto, 6,000/min", "6000/m", 100, 0, 0.95, 0.02},
		{"auto, 100/s", "100/s", 100, 0, 0.95, 0.02},
		{"auto, 100/s beside a neighbour at 30/s", "100/s", 100, 30, 0.9, 0.03},
	} {
		sb := startSandboxProc(b, bin, "--rate-limit", c.limit)
		ctx, stop := context.WithCancel(context.Background())
		var sent, refused atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			if c.neighbour > 0 {
				neighbour(ctx, sb.url, c.neighbour, &sent, &refused)
			}
		}()
		m := measure(b, bin, sb.env(dir), filepath.Join(dir, "pace.txt"), "apply", g3000, "--rate", "auto", "--concurrency", "32")
		stop()
		<-done
		st := sb.stats(b)
		sb.stop()
		ours := float64(st.Requests.Total - int(sent.Load()))
		ours429 := float64(st.Requests.ByStatus["429"] - int(refused.Load()))
		available := c.perSecond - c.neighbour
		add(c.name+": achieved / available", ours/m.wall.Seconds()/available, c.efficiency, false,
			fmt.Sprintf("%.0f requests in %s (%.1f/s of %.0f/s)", ours, m.wall.Round(100*time.Millisecond), ours/m.wall.Seconds(), available))
		add(c.name+": 429s / requests", ours429/ours, c.maxRefused, true, fmt.Sprintf("%.0f 429s; neighbour: %d sent, %d refused",
			ours429, sent.Load(), refused.Load()))
	}

	g2000 := writeGrowersCSV(b, filepath.Join(dir, "g2000p.csv"), 2000)
	calm := applyFaulted(b, bin, dir, g2000, "latency=20ms")
	sporadic := applyFaulted(b, bin, dir, g2000, "429-bare=0.02,latency=20ms,seed=3")
	minimal := 1.0 + 1 + 6000 // authentication, one page of an empty account, 2,000 users and 4,000 credentials
	add("2% 429s at --rate 100: wall / without", sporadic.wall.Seconds()/calm.wall.Seconds(), 1.3, true,
		fmt.Sprintf("%s vs %s", sporadic.wall.Round(100*time.Millisecond), calm.wall.Round(100*time.Millisecond)))
	add("2% 429s at --rate 100: requests / minimal", float64(sporadic.stats.Requests.Total)/minimal, 1.05, true,
		fmt.Sprintf("%d requests, %d 429s", sporadic.stats.Requests.Total, sporadic.stats.Requests.ByStatus["429"]))
}

// neighbour is the customer's own client: it sends GET /users at rate a second until ctx ends,
// counting what it sent and what Leaf refused.
func neighbour(ctx context.Context, url string, rate float64, sent, refused *atomic.Int64) {
	body, _ := json.Marshal(map[string]string{"username": "sandbox", "password": "sandbox"})
	resp, err := http.Post(url+leaf.AuthenticatePath, "application/json", bytes.NewReader(body))
	if err != nil {
		return
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	sent.Add(1)
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+leaf.UserManagementPath+"/users?size=1", nil)
		req.Header.Set("Authorization", "Bearer "+tok.IDToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		sent.Add(1)
		if resp.StatusCode == http.StatusTooManyRequests {
			refused.Add(1)
		}
		resp.Body.Close()
	}
}

// BenchmarkPace measures the pacing figures alone.
func BenchmarkPace(b *testing.B) { runGroup(b, paceFigures) }
