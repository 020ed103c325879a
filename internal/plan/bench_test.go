package plan

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
)

// benchManifest generates n growers with two connections each (John Deere and CNHI) as CSV or
// YAML, and a Leaf state of the same size in which 1% of the growers differ.
func benchManifest(n int, format string) ([]byte, *leaf.Snapshot) {
	jd, _ := leaf.LookupProvider("JohnDeere")
	cnhi, _ := leaf.LookupProvider("CNHI")
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if format == "csv" {
		w.WriteString("externalId,provider,name,email,refreshToken,clientKey,clientId,clientSecret,subscriptionKey,clientEnvironment\n")
	} else {
		w.WriteString("version: 1\ngrowers:\n")
	}
	snap := &leaf.Snapshot{Users: make([]leaf.User, 0, n), AppKeys: map[string][]leaf.AppKey{}}
	for i := range n {
		ext := fmt.Sprintf("grower-%07d", i)
		name := "Grower " + strconv.Itoa(i)
		email := fmt.Sprintf("grower%d@example.com", i)
		jdTok, cnhiTok := "jd-token-"+strconv.Itoa(i), "cnhi-token-"+strconv.Itoa(i)
		if format == "csv" {
			fmt.Fprintf(w, "%s,JohnDeere,%s,%s,%s,jd-key,,jd-secret,,PRODUCTION\n", ext, name, email, jdTok)
			fmt.Fprintf(w, "%s,CNHI,,,%s,,cnhi-id,cnhi-secret,cnhi-sub,PRODUCTION\n", ext, cnhiTok)
		} else {
			fmt.Fprintf(w, "  - externalId: %s\n    name: %s\n    email: %s\n    connections:\n", ext, name, email)
			fmt.Fprintf(w, "      JohnDeere: {refreshToken: %s, clientKey: jd-key, clientSecret: jd-secret, clientEnvironment: PRODUCTION}\n", jdTok)
			fmt.Fprintf(w, "      CNHI: {refreshToken: %s, clientId: cnhi-id, clientSecret: cnhi-secret, subscriptionKey: cnhi-sub, clientEnvironment: PRODUCTION}\n", cnhiTok)
		}
		if i%100 == 0 {
			name = "Old Name" // 1% of the users differ
		}
		snap.Users = append(snap.Users, leaf.User{
			ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), ExternalID: ext, Name: name, Email: email,
			Credentials: []*leaf.Credential{
				{Provider: cnhi, ID: "c1-" + ext, Status: "OK", Fields: leaf.FieldsFromMap(map[string]string{
					"clientId": "cnhi-id", "clientSecret": "cnhi-secret", "subscriptionKey": "cnhi-sub",
					"refreshToken": cnhiTok, "clientEnvironment": "PRODUCTION"})},
				{Provider: jd, ID: "c2-" + ext, Status: "OK", Fields: leaf.FieldsFromMap(map[string]string{
					"clientKey": "jd-key", "clientSecret": "jd-secret", "refreshToken": "rotated", "accessToken": "at",
					"clientEnvironment": "PRODUCTION"})},
			},
		})
	}
	w.Flush()
	return buf.Bytes(), snap
}

// fileSource is a Source over the real file system (for benchmarks).
type fileSource struct{}

func (fileSource) Getenv(string) (string, bool)            { return "", false }
func (fileSource) Open(name string) (io.ReadCloser, error) { return os.Open(name) }

// peakMemory samples the heap while f runs and reports the live heap before f (the Leaf state
// and the manifest bytes), the peak heap and, where Linux lets the high-water mark be reset, the
// peak resident set.
func peakMemory(f func()) (baseMB, heapMB, rssMB float64) {
	runtime.GC()
	debug.FreeOSMemory()
	base := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(base)
	baseMB = float64(base[0].Value.Uint64()) / (1 << 20)
	resetRSS := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	heapMB = float64(peak.Load()) / (1 << 20)
	if resetRSS {
		if b, err := os.ReadFile("/proc/self/status"); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
					rssMB = float64(kb) / 1024
				}
			}
		}
	}
	return baseMB, heapMB, rssMB
}

// BenchmarkPlanLarge measures parse + validate + diff of generated manifests of 25,000 and
// 100,000 growers (two connections each) against a Leaf state of the same size. Targets on a
// 2-core machine: CSV 100k under 1 s and 300 MB, YAML 100k under 3 s and 1 GB, cost linear.
// Run with -benchtime 1x (make bench).
func BenchmarkPlanLarge(b *testing.B) {
	for _, format := range []string{"csv", "yaml"} {
		for _, n := range []int{25_000, 100_000} {
			b.Run(fmt.Sprintf("%s-%dk", format, n/1000), func(b *testing.B) {
				data, snap := benchManifest(n, format)
				name := filepath.Join(b.TempDir(), "bench."+format)
				if err := os.WriteFile(name, data, 0o600); err != nil {
					b.Fatal(err)
				}
				data = nil // the tool reads the manifest from its file, as here
				src := fileSource{}
				var elapsed time.Duration
				var changes int
				b.ResetTimer()
				for range b.N {
					base, heap, rss := peakMemory(func() {
						start := time.Now()
						m, ps := manifest.Load(name, src)
						if len(ps) > 0 {
							b.Fatal(ps.Error())
						}
						p := Diff(m, snap, Options{})
						elapsed = time.Since(start)
						changes = len(p.Changes)
					})
					b.ReportMetric(elapsed.Seconds(), "s/plan")
					b.ReportMetric(base, "MB-state")
					b.ReportMetric(heap, "MB-peak-heap")
					if rss > 0 {
						b.ReportMetric(rss, "MB-peak-rss")
					}
				}
				if changes != n/100 {
					b.Fatalf("%d changes, want %d", changes, n/100)
				}
			})
		}
	}
}
