package sandbox

import (
	"maps"
	"sync"
	"time"
)

// Stats is the document of GET /__sandbox/stats.
type Stats struct {
	Requests RequestStats `json:"requests"`
	// Faults counts injected faults by kind.
	Faults map[string]int `json:"faults"`
	// FaultsByRoute counts the faults that struck before a user-management request was handled
	// (statuses, resets before commit), by route: each forces the request to be sent again.
	FaultsByRoute map[string]int `json:"faultsByRoute"`
	// MaxPerMinute is the most Leaf requests seen in any 60-second window.
	MaxPerMinute int `json:"maxPerMinute"`
	// Connections counts TCP connections the server accepted (when it knows).
	Connections ConnStats `json:"connections"`
	// Mutations counts what the emulated API did, for duplicate and lookup checks.
	Mutations MutationStats `json:"mutations"`
}

// RequestStats counts Leaf API requests. Total and Auth count every request; the By maps
// count the user-management API only.
type RequestStats struct {
	Total    int            `json:"total"`
	Auth     int            `json:"auth"`
	ByMethod map[string]int `json:"byMethod"`
	ByStatus map[string]int `json:"byStatus"`
	ByRoute  map[string]int `json:"byRoute"`
}

// ConnStats counts connections.
type ConnStats struct {
	Opened int `json:"opened"`
	Active int `json:"active"`
	Peak   int `json:"peak"`
}

// MutationStats counts committed mutations and the requests that reveal duplicates.
type MutationStats struct {
	// UserCreates counts committed POST /users.
	UserCreates int `json:"userCreates"`
	// DuplicateUserCreates counts committed POST /users whose externalId another user already had.
	DuplicateUserCreates int `json:"duplicateUserCreates"`
	// CredentialCreates counts committed credential POSTs.
	CredentialCreates int `json:"credentialCreates"`
	// CredentialConflicts counts credential POSTs answered 409 (one already existed).
	CredentialConflicts int `json:"credentialConflicts"`
	// AppKeyConflicts counts app-key POSTs answered 409.
	AppKeyConflicts int `json:"appKeyConflicts"`
	// ConfigWrites counts committed user configuration POSTs and PATCHes.
	ConfigWrites int `json:"configWrites"`
	// ConfigsAfterCredentials counts config writes to a user that held a credential already:
	// syncing had started under other flags.
	ConfigsAfterCredentials int `json:"configsAfterCredentials"`
	// Lookups counts GET /users filtered by externalId.
	Lookups int `json:"lookups"`
	// DroppedAfterCommit counts mutations committed whose answer was dropped or stalled, by route.
	DroppedAfterCommit map[string]int `json:"droppedAfterCommit"`
}

type statsRecorder struct {
	mu     sync.Mutex
	s      Stats
	perSec map[int64]int
}

func newStatsRecorder() *statsRecorder {
	r := &statsRecorder{}
	r.reset()
	return r
}

func (r *statsRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	conns := r.s.Connections
	r.s = Stats{
		Requests:      RequestStats{ByMethod: map[string]int{}, ByStatus: map[string]int{}, ByRoute: map[string]int{}},
		Faults:        map[string]int{},
		FaultsByRoute: map[string]int{},
		Mutations: MutationStats{
			DroppedAfterCommit: map[string]int{},
		},
		Connections: ConnStats{Active: conns.Active},
	}
	r.perSec = map[int64]int{}
}

func (r *statsRecorder) with(f func(s *Stats)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.s)
}

func (r *statsRecorder) request(now time.Time, auth bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Requests.Total++
	if auth {
		r.s.Requests.Auth++
	}
	r.perSec[now.Unix()]++
}

func (r *statsRecorder) fault(kind string) {
	r.with(func(s *Stats) { s.Faults[kind]++ })
}

func (r *statsRecorder) connOpened() {
	r.with(func(s *Stats) {
		s.Connections.Opened++
		s.Connections.Active++
		s.Connections.Peak = max(s.Connections.Peak, s.Connections.Active)
	})
}

func (r *statsRecorder) connClosed() {
	r.with(func(s *Stats) { s.Connections.Active-- })
}

// snapshot copies the stats and computes MaxPerMinute over sliding 60-second windows.
func (r *statsRecorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.s
	out.Requests.ByMethod = maps.Clone(r.s.Requests.ByMethod)
	out.Requests.ByStatus = maps.Clone(r.s.Requests.ByStatus)
	out.Requests.ByRoute = maps.Clone(r.s.Requests.ByRoute)
	out.Faults = maps.Clone(r.s.Faults)
	out.FaultsByRoute = maps.Clone(r.s.FaultsByRoute)
	out.Mutations.DroppedAfterCommit = maps.Clone(r.s.Mutations.DroppedAfterCommit)
	for sec := range r.perSec {
		n := 0
		for i := int64(0); i < 60; i++ {
			n += r.perSec[sec+i]
		}
		out.MaxPerMinute = max(out.MaxPerMinute, n)
	}
	return out
}
