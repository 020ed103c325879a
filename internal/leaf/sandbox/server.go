package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// Server is the emulated Leaf API. It implements http.Handler.
type Server struct {
	username, password string
	patchDisabled      bool
	rateLimit          *windowLimit
	now                func() time.Time
	logger             *slog.Logger

	mu     sync.Mutex // guards st, tokens, dirty
	st     *store
	tokens map[string]time.Time // token -> expiry
	dirty  bool

	faults *faultState
	stats  *statsRecorder
	// stalling counts answers held by stall-after-commit right now.
	stalling atomic.Int32

	leafMux  *http.ServeMux
	adminMux *http.ServeMux
}

// Option configures a Server.
type Option func(*Server) error

// WithLogin sets the API-owner credentials POST /api/authenticate accepts (default sandbox/sandbox).
func WithLogin(username, password string) Option {
	return func(s *Server) error {
		s.username, s.password = username, password
		return nil
	}
}

// WithFaults sets the initial fault spec.
func WithFaults(spec string) Option {
	return func(s *Server) error {
		f, err := ParseFaults(spec)
		if err != nil {
			return err
		}
		s.faults = newFaultState(f)
		return nil
	}
}

// WithRateLimit answers 429 above a fixed window, spec "N/m" or "N/s" ("" for none).
func WithRateLimit(spec string) Option {
	return func(s *Server) error {
		w, err := parseWindowLimit(spec)
		s.rateLimit = w
		return err
	}
}

// WithPatchDisabled makes PATCH /users/{id} answer 405, as if Leaf had no PATCH: clients must
// fall back to GET and PUT.
func WithPatchDisabled() Option {
	return func(s *Server) error {
		s.patchDisabled = true
		return nil
	}
}

// WithState starts the server with st.
func WithState(st *State) Option {
	return func(s *Server) error { return s.st.load(st) }
}

// WithClock sets the time source (tokens, lag, timestamps).
func WithClock(now func() time.Time) Option {
	return func(s *Server) error {
		s.now = now
		return nil
	}
}

// WithLogger sets the logger for the server's own messages.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) error {
		s.logger = l
		return nil
	}
}

// New returns a Server with empty state.
func New(opts ...Option) (*Server, error) {
	f, _ := ParseFaults("")
	s := &Server{
		username: "sandbox", password: "sandbox",
		now:    time.Now,
		logger: slog.New(slog.DiscardHandler),
		st:     newStore(1),
		tokens: map[string]time.Time{},
		faults: newFaultState(f),
		stats:  newStatsRecorder(),
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	s.routes()
	return s, nil
}

// SetFaults replaces the fault spec while the server runs ("" turns faults off).
func (s *Server) SetFaults(spec string) error {
	f, err := ParseFaults(spec)
	if err != nil {
		return err
	}
	s.faults.set(f)
	return nil
}

// Stats returns a snapshot of the request, fault and mutation counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the counters.
func (s *Server) ResetStats() { s.stats.reset() }

// State returns a copy of the whole data set.
func (s *Server) State() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.snapshot()
}

// LoadState replaces the data set.
func (s *Server) LoadState(st *State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirty = true
	return s.st.load(st)
}

// TakeDirty reports whether the state changed since the last call.
func (s *Server) TakeDirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dirty
	s.dirty = false
	return d
}

// Stalling returns how many committed mutations are having their answer held right now
// (stall-after-commit): a client killed now has changed Leaf without knowing it.
func (s *Server) Stalling() int { return int(s.stalling.Load()) }

// ConnState counts connections; set it as http.Server.ConnState.
func (s *Server) ConnState(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.stats.connOpened()
	case http.StateClosed, http.StateHijacked:
		s.stats.connClosed()
	}
}

// ServeHTTP serves admin endpoints directly and Leaf endpoints through the fault, rate-limit
// and accounting pipeline.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/__sandbox/") {
		r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
		s.adminMux.ServeHTTP(w, r)
		return
	}
	if r.ContentLength > maxBody {
		writeProblem(w, http.StatusRequestEntityTooLarge, "Payload Too Large", "the request body is larger than 1 MiB")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	s.serveLeaf(w, r)
}

// isMutation reports whether a request changes state (authentication does not).
func isMutation(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return r.URL.Path != leaf.AuthenticatePath
	}
	return false
}

// serveLeaf serves one Leaf request as a real Leaf would under the configured faults: the rate
// limit, latency, the drawn status faults, the handler, and the faults after commit. It is
// longer than 80 lines because the faults apply in that order around one handler call, and the
// order is the contract the tests rely on.
func (s *Server) serveLeaf(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	isAuth := r.URL.Path == leaf.AuthenticatePath
	s.stats.request(now, isAuth)
	route := s.routeLabel(r)
	rec := &recorder{header: http.Header{}}
	reset, gone := false, false
	defer func() {
		if route == "" {
			return
		}
		status := fmt.Sprint(rec.status)
		switch {
		case reset:
			status = "reset"
		case gone:
			status = "gone"
		}
		s.stats.with(func(st *Stats) {
			st.Requests.ByMethod[r.Method]++
			st.Requests.ByRoute[route]++
			st.Requests.ByStatus[status]++
		})
	}()

	if s.rateLimit != nil && !s.rateLimit.allow(now) {
		s.stats.fault(FaultRateLimit)
		writeRateLimited(rec, s.rateLimit.describe(), false)
		rec.flush(w)
		return
	}
	cfg := s.faults.config()
	if cfg.Route != "" && cfg.Route != route {
		s.leafMux.ServeHTTP(rec, r) // the faults strike another route only
		rec.flush(w)
		return
	}
	if cfg.LatencyMax > 0 {
		// Read the body first: Go's server notices a client hanging up (and ends r.Context())
		// only once the request body is consumed.
		if err := bufferBody(r); err != nil {
			writeBodyError(rec, err)
			rec.flush(w)
			return
		}
		s.stats.fault(FaultLatency)
		if gone = !pause(r.Context(), s.faults.latency()); gone {
			return // the client gave up before Leaf looked at the request: nothing changed
		}
	}
	beforeCommit := func(kind string) {
		s.stats.fault(kind)
		if route != "" {
			s.stats.with(func(st *Stats) { st.FaultsByRoute[route]++ })
		}
	}
	if s.faults.draw(FaultResetBeforeCommit) != "" {
		beforeCommit(FaultResetBeforeCommit)
		reset = true
		resetConnection(w)
		return
	}
	if kind := s.faults.draw(statusFaults...); kind != "" {
		beforeCommit(kind)
		switch kind {
		case Fault429:
			writeRateLimited(rec, "injected", true)
		case Fault429Bare:
			writeRateLimited(rec, "injected", false)
		default:
			var code int
			fmt.Sscan(kind, &code)
			writeProblem(rec, code, http.StatusText(code), "injected fault")
		}
		rec.flush(w)
		return
	}

	s.leafMux.ServeHTTP(rec, r)

	if isMutation(r) && rec.status >= 200 && rec.status < 300 {
		if kind := s.faults.draw(FaultResetAfterCommit, FaultStallAfterCommit); kind != "" {
			s.stats.fault(kind)
			s.stats.with(func(st *Stats) { st.Mutations.DroppedAfterCommit[route]++ })
			if kind == FaultResetAfterCommit {
				reset = true
				resetConnection(w)
				return
			}
			s.stalling.Add(1)
			gone = !pause(r.Context(), cfg.Stall)
			s.stalling.Add(-1)
		}
	}
	rec.flush(w)
}

// maxBody bounds the body of a Leaf request (Leaf's are a few KB): a larger one is answered
// 413. maxAdminBody bounds an admin request: a whole state document, read from the body as it
// is decoded, never copied whole first.
const (
	maxBody      = 1 << 20
	maxAdminBody = 128 << 20
)

func bufferBody(r *http.Request) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return nil
}

// pause waits for d, or until ctx ends (the client hung up); it reports whether d passed.
// A real server stops waiting on a client that left, and so does the sandbox: a test that
// aborts requests stalled for minutes is not held up by them when the server closes.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// routeLabel names the route of a user-management request for the stats ("" for others):
// "GET /users/{id}/{credential-path}", with list lookups by externalId apart.
func (s *Server) routeLabel(r *http.Request) string {
	if r.URL.Path == leaf.ConfigPath || strings.HasPrefix(r.URL.Path, leaf.ConfigPath+"/") {
		label := r.Method + " /configs"
		if r.URL.Path != leaf.ConfigPath {
			label += "/{leafUserId}"
		}
		return label
	}
	if !strings.HasPrefix(r.URL.Path, leaf.UserManagementPath+"/") {
		return ""
	}
	_, pattern := s.leafMux.Handler(r)
	if pattern == "" {
		return r.Method + " (unrouted)"
	}
	_, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimPrefix(path, leaf.UserManagementPath)
	path = strings.TrimSuffix(path, "{$}")
	path = strings.TrimSuffix(path, "/")
	path = strings.ReplaceAll(path, "{cred}", "{credential-path}")
	if strings.HasSuffix(path, "/{sub}") && strings.HasSuffix(r.URL.Path, "/events") {
		path = strings.TrimSuffix(path, "{sub}") + "events"
	}
	label := r.Method + " " + path
	if path == "/users" && r.Method == http.MethodGet && r.URL.Query().Get("externalId") != "" {
		label += "?externalId"
	}
	return label
}

// resetConnection closes the client's connection without an answer, with a TCP reset when it can.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// recorder buffers a handler's answer so that after-commit faults can drop or delay it.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) flush(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}
