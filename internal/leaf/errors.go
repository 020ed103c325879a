package leaf

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIError is a non-2xx answer from Leaf. Its fields come from the problem-JSON body when there
// is one; the raw body is never kept. Callers branch on StatusCode, never on the text.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Title      string
	Detail     string
	// Fields names the request fields a validation error points at (from fieldErrors).
	Fields    []string
	RequestID string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "leaf: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Title != "" && !strings.EqualFold(e.Title, http.StatusText(e.StatusCode)) {
		b.WriteString(": " + e.Title)
	}
	if e.Detail != "" && e.Detail != e.Title {
		b.WriteString(": " + e.Detail)
	}
	if len(e.Fields) > 0 {
		b.WriteString(" (fields: " + strings.Join(e.Fields, ", ") + ")")
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// RateLimitError is a 429 answer. RetryAfter is zero when Leaf sent no Retry-After header.
type RateLimitError struct {
	APIError
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%s (retry after %s)", e.APIError.Error(), e.RetryAfter)
	}
	return e.APIError.Error()
}

// Unwrap lets errors.As find the embedded APIError.
func (e *RateLimitError) Unwrap() error { return &e.APIError }

// AuthError means Leaf refused the credentials: a 401 that one re-authentication did not cure,
// or a failed POST /api/authenticate. It is fatal for a run.
type AuthError struct {
	Err error
}

func (e *AuthError) Error() string { return "leaf: authentication failed: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *AuthError) Unwrap() error { return e.Err }

// AmbiguousError means a mutating request was written and its outcome is unknown: the
// connection dropped, timed out or answered 5xx. The object may or may not exist now; the
// caller must look it up by its natural key before sending the request again.
type AmbiguousError struct {
	Method string
	Path   string
	Err    error
}

func (e *AmbiguousError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("leaf: %s %s: outcome unknown", e.Method, e.Path)
	}
	return e.Err.Error() + " (outcome unknown)"
}

// Unwrap returns the cause.
func (e *AmbiguousError) Unwrap() error { return e.Err }

// TransportError is a request that got no HTTP answer (connection refused, reset, timeout).
type TransportError struct {
	Method  string
	Path    string
	Written bool
	Err     error
}

func (e *TransportError) Error() string {
	state := "not sent"
	if e.Written {
		state = "sent"
	}
	return fmt.Sprintf("leaf: %s %s: %s (request %s)", e.Method, e.Path, transportCause(e.Err), state)
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// transportCause names a network failure without the URL that net/http puts in its messages.
func transportCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// StatusCode returns the HTTP status of an error from this package, 0 when there was none.
func StatusCode(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is a 404 from Leaf.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsConflict reports whether err is a 409 from Leaf.
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// IsAuth reports whether err is an authentication failure.
func IsAuth(err error) bool {
	var ae *AuthError
	return errors.As(err, &ae)
}

// IsAmbiguous reports whether err leaves the outcome of a mutation unknown.
func IsAmbiguous(err error) bool {
	var ae *AmbiguousError
	return errors.As(err, &ae)
}

// ErrorCode is a short stable code for an error, for reports and journals.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var (
		auth *AuthError
		amb  *AmbiguousError
		rl   *RateLimitError
		api  *APIError
		tr   *TransportError
	)
	var outage *OutageError
	switch {
	case errors.As(err, &outage):
		return "outage"
	case errors.As(err, &auth):
		return "auth"
	case errors.As(err, &amb):
		return "ambiguous"
	case errors.As(err, &rl):
		return "rate-limited"
	case errors.As(err, &api):
		return fmt.Sprintf("http-%d", api.StatusCode)
	case errors.As(err, &tr):
		return "network"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

// OutageError is a request that spent its retry budget while nothing the client sent
// succeeded: Leaf (or the way to it) is out. It ends a run rather than failing every change in
// turn.
type OutageError struct {
	Since    time.Time
	Attempts int
	Err      error
}

func (e *OutageError) Error() string {
	return fmt.Sprintf("leaf is unavailable: no request has succeeded since %s (%d attempts): %v",
		e.Since.UTC().Format(time.RFC3339), e.Attempts, e.Err)
}

func (e *OutageError) Unwrap() error { return e.Err }

// IsOutage reports whether err is an OutageError.
func IsOutage(err error) bool {
	var o *OutageError
	return errors.As(err, &o)
}

// UnreachableError is a request that never got an answer from a Leaf that has never answered
// this client: a wrong URL, a closed port, a network that does not route.
type UnreachableError struct {
	URL      string
	Waited   time.Duration
	Attempts int
	Err      error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach Leaf at %s: %v (no answer in %s, %d attempts); check LEAF_API_URL and the network",
		e.URL, e.Err, e.Waited.Round(time.Second), e.Attempts)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// URLError is an answer that says the URL is not Leaf's: the path the client asked for is not
// there (404 or 405 at the token endpoint).
type URLError struct {
	URL    string
	Status int
}

func (e *URLError) Error() string {
	return fmt.Sprintf("Leaf answered %d at %s: check LEAF_API_URL (Leaf's base URL, such as %s, without a path of its own)", e.Status, e.URL, DefaultBaseURL)
}
