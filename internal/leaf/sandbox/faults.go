package sandbox

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault kinds, as named in a fault spec and in the stats.
const (
	Fault500               = "500"
	Fault502               = "502"
	Fault503               = "503"
	Fault504               = "504"
	Fault429               = "429"      // with Retry-After: 1
	Fault429Bare           = "429-bare" // without Retry-After
	FaultResetBeforeCommit = "reset-before-commit"
	FaultResetAfterCommit  = "reset-after-commit"
	FaultStallAfterCommit  = "stall-after-commit"
	FaultLatency           = "latency"
	FaultLag               = "lag"
	FaultTokenExpired      = "token-expired"
	FaultRateLimit         = "rate-limit"
)

// statusFaults are drawn before the request is handled, in this order.
var statusFaults = []string{Fault500, Fault502, Fault503, Fault504, Fault429, Fault429Bare}

// Faults is a parsed fault spec: comma-separated key=value pairs such as
// "503=0.1,429=0.05,reset-after-commit=0.02,lag=200ms,seed=7".
type Faults struct {
	// Prob holds the probability of each probabilistic fault kind.
	Prob map[string]float64
	// Stall is how long stall-after-commit holds the answer (default 2 s).
	Stall time.Duration
	// LatencyMin and LatencyMax bound the delay added to every Leaf request.
	LatencyMin, LatencyMax time.Duration
	// Lag keeps a new user out of GET /users lists for this long.
	Lag time.Duration
	// TokenTTL overrides the lifetime of tokens issued from now on.
	TokenTTL time.Duration
	// Seed seeds the fault draws.
	Seed uint64
	// Route, when set, limits latency and the drawn faults to one route as the stats name it
	// ("PATCH /configs/{leafUserId}"); lag and the rate limit still apply to all.
	Route string
	spec  string
}

var probKeys = map[string]bool{
	Fault500: true, Fault502: true, Fault503: true, Fault504: true, Fault429: true, Fault429Bare: true,
	FaultResetBeforeCommit: true, FaultResetAfterCommit: true, FaultStallAfterCommit: true,
}

// ParseFaults parses a fault spec; the empty spec means no faults.
func ParseFaults(spec string) (*Faults, error) {
	f := &Faults{Prob: map[string]float64{}, Stall: 2 * time.Second, Seed: 1, spec: strings.TrimSpace(spec)}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("fault %q: want key=value", part)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		var err error
		switch {
		case probKeys[key]:
			var p float64
			p, err = strconv.ParseFloat(val, 64)
			if err == nil && (p < 0 || p > 1) {
				err = fmt.Errorf("probability must be between 0 and 1")
			}
			f.Prob[key] = p
		case key == "stall":
			f.Stall, err = time.ParseDuration(val)
		case key == "latency":
			lo, hi, found := strings.Cut(val, "-")
			if f.LatencyMin, err = time.ParseDuration(lo); err == nil {
				f.LatencyMax = f.LatencyMin
				if found {
					f.LatencyMax, err = time.ParseDuration(hi)
				}
			}
			if err == nil && f.LatencyMax < f.LatencyMin {
				err = fmt.Errorf("latency range is reversed")
			}
		case key == "lag":
			f.Lag, err = time.ParseDuration(val)
		case key == "token-ttl":
			f.TokenTTL, err = time.ParseDuration(val)
		case key == "seed":
			f.Seed, err = strconv.ParseUint(val, 10, 64)
		case key == "route":
			f.Route = val
		default:
			return nil, fmt.Errorf("fault %q: unknown key %q", part, key)
		}
		if err != nil {
			return nil, fmt.Errorf("fault %q: %v", part, err)
		}
	}
	return f, nil
}

// String returns the spec the faults were parsed from.
func (f *Faults) String() string { return f.spec }

// faultState draws faults from a seeded generator.
type faultState struct {
	mu  sync.Mutex
	cfg *Faults
	rng *rand.Rand
}

func newFaultState(cfg *Faults) *faultState {
	return &faultState{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed*0x9e3779b97f4a7c15+1))}
}

func (fs *faultState) set(cfg *Faults) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.cfg = cfg
	fs.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed*0x9e3779b97f4a7c15+1))
}

func (fs *faultState) config() *Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.cfg
}

// draw returns the first of kinds whose probability fires, or "".
func (fs *faultState) draw(kinds ...string) string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, k := range kinds {
		if p := fs.cfg.Prob[k]; p > 0 && fs.rng.Float64() < p {
			return k
		}
	}
	return ""
}

// latency returns the delay for one request.
func (fs *faultState) latency() time.Duration {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	lo, hi := fs.cfg.LatencyMin, fs.cfg.LatencyMax
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(fs.rng.Int64N(int64(hi-lo)))
}
