package sandbox

import (
	"net/http/httptest"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// TB is the part of testing.TB NewServer needs (the package does not import testing).
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// TestServer is a Server listening on a loopback port, closed when the test ends.
type TestServer struct {
	*Server
	// URL is the base URL, e.g. http://127.0.0.1:40123.
	URL  string
	HTTP *httptest.Server
}

// NewServer starts a sandbox on loopback for one test, like httptest.NewServer.
func NewServer(t TB, opts ...Option) *TestServer {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Config.ConnState = s.ConnState
	hs.Start()
	t.Cleanup(hs.Close)
	return &TestServer{Server: s, URL: hs.URL, HTTP: hs}
}

// Client returns a leaf client logged in to this sandbox, unlimited in rate unless opts set a
// pacer.
func (ts *TestServer) Client(t TB, opts ...leaf.Option) *leaf.Client {
	t.Helper()
	base := []leaf.Option{
		leaf.WithBaseURL(ts.URL),
		leaf.WithLogin(ts.username, leaf.Secret(ts.password)),
		leaf.WithPacer(leaf.NewPacer(0, 1, nil)),
	}
	c, err := leaf.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("sandbox client: %v", err)
	}
	return c
}
