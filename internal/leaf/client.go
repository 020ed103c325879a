package leaf

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultBaseURL is Leaf's API host.
const DefaultBaseURL = "https://api.withleaf.io"

// Paths under the base URL (docs/leaf-api.md §0).
const (
	// UserManagementPath prefixes users, credentials, api keys and app keys.
	UserManagementPath = "/services/usermanagement/api"
	// AuthenticatePath is the token endpoint.
	AuthenticatePath = "/api/authenticate"
)

// Client is the typed Leaf API client. It is safe for concurrent use; every request passes
// through one funnel (do) that authenticates, paces, retries and maps errors.
type Client struct {
	// lastSuccess is when an answer last succeeded (unix nanoseconds): a request that spends
	// its retry budget while nothing succeeds meets an outage (OutageError).
	lastSuccess atomic.Int64
	// answered is set once Leaf has answered anything (any HTTP status); until then transport
	// failures retry for Backoff.FirstContact only. unreachedLogged says the wait was announced.
	answered, unreachedLogged atomic.Bool
	base                      *url.URL
	http                      *http.Client
	pacer                     *Pacer
	backoff                   Backoff
	clock                     Clock
	userAgent                 string
	logger                    *slog.Logger

	username string
	password Secret

	tokenMu  sync.RWMutex
	token    Secret
	tokenGen uint64
	authMu   sync.Mutex

	concurrency      int
	patchUnsupported atomic.Bool
	stats            clientStats
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the API base URL. https is required unless the host is loopback. A URL that
// carries a username or password (user:pass@host) is refused, and never echoed: it would reach
// logs, journals and reports; credentials come from LEAF_USERNAME and LEAF_PASSWORD.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		switch {
		case err == nil && u.User != nil, err != nil && strings.Contains(raw, "@"):
			return errors.New("leaf: the API URL must not carry a username or password (user:password@host): " +
				"set LEAF_USERNAME and LEAF_PASSWORD (or LEAF_PASSWORD_FILE) instead")
		case err != nil || u.Host == "" || u.Opaque != "":
			return errors.New("leaf: the API URL is not a valid URL: want https://host[:port][/path]")
		}
		shown := u.Scheme + "://" + u.Host
		switch {
		case u.Scheme == "https":
		case u.Scheme == "http" && isLoopback(u.Hostname()):
		default:
			return fmt.Errorf("leaf: API URL %s must use https:// (plain http is allowed only for loopback hosts)", shown)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("leaf: API URL %s must not carry a query or a fragment", shown)
		}
		c.base = u
		return nil
	}
}

// WithToken authenticates with a bearer token obtained elsewhere (LEAF_TOKEN).
func WithToken(token Secret) Option {
	return func(c *Client) error {
		c.token = token
		return nil
	}
}

// WithLogin authenticates with the API owner's username and password (POST /api/authenticate)
// and re-authenticates once when Leaf answers 401.
func WithLogin(username string, password Secret) Option {
	return func(c *Client) error {
		c.username, c.password = username, password
		return nil
	}
}

// WithHTTPClient replaces the HTTP client (and with it the transport).
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) error {
		c.http = h
		return nil
	}
}

// WithConcurrency sizes the keep-alive pool of the default transport for n concurrent callers.
func WithConcurrency(n int) Option {
	return func(c *Client) error {
		c.concurrency = n
		return nil
	}
}

// WithPacer sets the shared rate limiter.
func WithPacer(p *Pacer) Option {
	return func(c *Client) error {
		c.pacer = p
		return nil
	}
}

// WithBackoff sets the retry backoff and attempt budget.
func WithBackoff(b Backoff) Option {
	return func(c *Client) error {
		c.backoff = b
		return nil
	}
}

// WithClock sets the clock used for backoff sleeps.
func WithClock(clk Clock) Option {
	return func(c *Client) error {
		c.clock = clk
		return nil
	}
}

// WithPatchUnsupported makes the client update users with GET and PUT from the start, for an
// account where doctor found that PATCH is not supported.
func WithPatchUnsupported() Option {
	return func(c *Client) error {
		c.patchUnsupported.Store(true)
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithLogger sets the logger for retries and re-authentication (never request bodies).
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		c.logger = l
		return nil
	}
}

// EnvOptions reads the connection settings from the environment: LEAF_API_URL (default
// DefaultBaseURL), LEAF_TOKEN, or LEAF_USERNAME and LEAF_PASSWORD.
func EnvOptions(getenv func(string) string) []Option {
	opts := []Option{WithBaseURL(DefaultBaseURL)}
	if u := getenv("LEAF_API_URL"); u != "" {
		opts = append(opts, WithBaseURL(u))
	}
	if t := getenv("LEAF_TOKEN"); t != "" {
		opts = append(opts, WithToken(Secret(t)))
	}
	if u := getenv("LEAF_USERNAME"); u != "" {
		opts = append(opts, WithLogin(u, Secret(getenv("LEAF_PASSWORD"))))
	}
	return opts
}

// NewClient returns a client. Without options it talks to DefaultBaseURL at 10 requests/s.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{backoff: DefaultBackoff(), clock: SystemClock{}, userAgent: "leaf-import", concurrency: 8}
	if err := WithBaseURL(DefaultBaseURL)(c); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.http == nil {
		c.http = NewHTTPClient(c.concurrency)
	}
	if c.pacer == nil {
		c.pacer = NewPacer(10, 2, c.clock)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// BaseURL returns the API base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// Pacer returns the client's rate limiter.
func (c *Client) Pacer() *Pacer { return c.pacer }

// HasLogin reports whether the client can (re-)authenticate with a username and password.
func (c *Client) HasLogin() bool { return c.username != "" }

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errNoCredentials is the cause of an AuthError when nothing to authenticate with is configured.
var errNoCredentials = errors.New("no credentials: set LEAF_TOKEN, or LEAF_USERNAME and LEAF_PASSWORD")
