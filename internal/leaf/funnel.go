package leaf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
)

// request is one logical call to Leaf; the funnel may send it several times.
type request struct {
	method string
	// path is the absolute path on the host, e.g. UserManagementPath+"/users".
	path  string
	query url.Values
	// body is JSON-encoded once; it may hold revealed secrets and is never logged.
	body any
	// secrets are the revealed values in body, scrubbed from any error text Leaf sends back.
	secrets []string
	// safe marks a POST that changes nothing (authentication): it retries like a GET.
	safe bool
	// noAuth: send no bearer token and do not re-authenticate on 401.
	noAuth bool
}

// response is what the funnel keeps of a successful answer.
type response struct {
	status int
	header http.Header
}

// maxBodyBytes bounds what the funnel reads of one answer.
const maxBodyBytes = 64 << 20

// do is the request funnel: the only place that sends requests. For every attempt it waits on
// the pacer, sets authentication, sends, classifies the outcome, and retries, re-authenticates
// or maps the answer to a typed error. A 2xx body is decoded into out when out is not nil.
//
// It is longer than 80 lines because it is the one loop every attempt goes through: the pace,
// the send, the outcome's class and the retry decision read top to bottom in one place.
func (c *Client) do(ctx context.Context, r *request, out any) (*response, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("leaf: encode %s %s: %w", r.method, r.path, err)
		}
	}
	call := callStatsFrom(ctx)
	reauthed := false
	start := c.clock.Now()
	for attempt := 0; ; attempt++ {
		if !r.noAuth {
			if err := c.ensureToken(ctx); err != nil {
				return nil, err
			}
		}
		if err := c.pacer.Wait(ctx); err != nil {
			return nil, err
		}
		gen, token := c.currentToken()
		status, header, body, written, err := c.send(ctx, r, payload, token)
		c.stats.requests.Add(1)
		call.attempt(status)

		if status == http.StatusUnauthorized && !r.noAuth {
			if c.HasLogin() && !reauthed {
				reauthed = true
				if err := c.reauthenticate(ctx, gen); err != nil {
					return nil, err
				}
				continue
			}
			return nil, &AuthError{Err: c.apiError(r, status, header, body)}
		}
		if r.method == http.MethodDelete && status == http.StatusNotFound && attempt > 0 {
			// A retried DELETE answered 404: the first attempt did it.
			return &response{status: status, header: header}, nil
		}

		verdict, cause := Classify(Attempt{Method: r.method, Safe: r.safe, Status: status, Err: err, Written: written})
		if status >= 200 && status < 300 {
			c.lastSuccess.Store(c.clock.Now().UnixNano())
		}
		if status != 0 {
			c.answered.Store(true)
		}
		if status != 0 && status != http.StatusTooManyRequests {
			c.pacer.Answered(header)
		}
		switch verdict {
		case Success:
			if out != nil && len(bytes.TrimSpace(body)) > 0 {
				if err := json.Unmarshal(body, out); err != nil {
					return nil, fmt.Errorf("leaf: %s %s: decode answer: %w", r.method, r.path, JSONErrorWithoutInput(err))
				}
			}
			return &response{status: status, header: header}, nil
		case Fail:
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, &TransportError{Method: r.method, Path: r.path, Written: written, Err: err}
			}
			return nil, c.apiError(r, status, header, body)
		case Ambiguous:
			var cause error = &TransportError{Method: r.method, Path: r.path, Written: written, Err: err}
			if err == nil {
				cause = c.apiError(r, status, header, body)
			}
			return nil, &AmbiguousError{Method: r.method, Path: r.path, Err: cause}
		}

		// Retry.
		last := error(&TransportError{Method: r.method, Path: r.path, Written: written, Err: err})
		if err == nil {
			last = c.apiError(r, status, header, body)
		}
		delay := c.backoff.Delay(attempt)
		if status == http.StatusTooManyRequests {
			// The pacer decides: the refused request waits its Retry-After, or its backoff;
			// when the 429 is the account's limit, every request pauses too.
			if wait := c.pacer.RateLimited(parseRetryAfter(header.Get("Retry-After"), c.clock.Now())); wait > 0 {
				delay = wait
			}
		}
		now := c.clock.Now()
		firstContact := status == 0 && !c.answered.Load() && c.backoff.FirstContact > 0
		if firstContact {
			// Until Leaf has answered once, FirstContact alone bounds the retries.
			if now.Add(delay).Sub(start) > c.backoff.FirstContact {
				return nil, &UnreachableError{URL: c.BaseURL(), Waited: now.Sub(start), Attempts: attempt + 1, Err: err}
			}
			if !c.unreachedLogged.Swap(true) {
				c.logger.Warn("Leaf does not answer yet; retrying", "url", c.BaseURL(), "cause", cause, "for", c.backoff.FirstContact)
			}
		} else if spent, byTime := c.backoff.spent(attempt+1, start, now, delay); spent {
			if byTime && c.lastSuccess.Load() <= start.UnixNano() {
				// Nothing this client sent succeeded since this request began: Leaf is out,
				// not this change wrong.
				return nil, &OutageError{Since: start, Attempts: attempt + 1, Err: last}
			}
			return nil, fmt.Errorf("%w (gave up after %d attempts in %s)", last, attempt+1, now.Sub(start).Round(time.Millisecond))
		}
		call.retry(cause)
		c.stats.retry(cause)
		c.logger.Debug("retrying leaf request", "method", r.method, "path", r.path, "cause", cause, "delay", delay)
		if err := c.clock.Sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// send performs one attempt. written reports whether the whole request reached the connection.
func (c *Client) send(ctx context.Context, r *request, payload []byte, token Secret) (status int, header http.Header, body []byte, written bool, err error) {
	u := c.base.JoinPath(r.path)
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			wrote.Store(true)
		}
	}}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), r.method, u.String(), rd)
	if err != nil {
		return 0, nil, nil, false, err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if !r.noAuth && token != "" {
		req.Header.Set("Authorization", "Bearer "+token.Reveal())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, wrote.Load(), err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		// The answer was cut off: the request certainly arrived.
		return 0, nil, nil, true, err
	}
	return resp.StatusCode, resp.Header, body, true, nil
}

// problem is the union of Leaf's error bodies: JHipster problem JSON and the rate-limit body.
type problem struct {
	Title       string `json:"title"`
	Detail      string `json:"detail"`
	Message     string `json:"message"`
	Error       string `json:"error"`
	FieldErrors []struct {
		Field string `json:"field"`
	} `json:"fieldErrors"`
}

// apiError maps a non-2xx answer to a typed error. Only decoded, scrubbed and shortened
// fields are kept: never the raw body.
func (c *Client) apiError(r *request, status int, header http.Header, body []byte) error {
	var p problem
	_ = json.Unmarshal(body, &p)
	title := firstNonEmpty(p.Title, p.Error)
	detail := p.Detail
	if detail == "" && !strings.HasPrefix(p.Message, "error.") {
		detail = p.Message
	}
	e := APIError{
		Method: r.method, Path: r.path, StatusCode: status,
		Title:     clean(title, r.secrets),
		Detail:    clean(detail, r.secrets),
		RequestID: clean(header.Get("X-Request-Id"), nil),
	}
	for _, fe := range p.FieldErrors {
		if fe.Field != "" {
			e.Fields = append(e.Fields, clean(fe.Field, r.secrets))
		}
	}
	if status == http.StatusTooManyRequests {
		return &RateLimitError{APIError: e, RetryAfter: parseRetryAfter(header.Get("Retry-After"), c.clock.Now())}
	}
	return &e
}

// CleanText makes text from Leaf (an error, an event's message) safe to show: the secrets given
// are replaced, control characters dropped, and the length bounded.
func CleanText(s string, secrets []string) string { return clean(s, secrets) }

// clean makes server text safe for an error string: secrets the request carried are replaced,
// control characters dropped, and the length bounded.
func clean(s string, secrets []string) string {
	for _, sec := range secrets {
		s = redact(s, sec)
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if rs := []rune(s); len(rs) > 200 {
		s = string(rs[:200]) + "..."
	}
	return strings.TrimSpace(s)
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// JSONErrorWithoutInput keeps a JSON decoding error from quoting the document it failed on:
// the offset of a syntax error, the field of a type error, and nothing else. The document may be
// untrusted (Leaf's answer, a file of the workspace).
func JSONErrorWithoutInput(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Errorf("unexpected %s for field %q", te.Value, te.Field)
	}
	return errors.New("invalid JSON")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// longSecret is the length from which a secret is redacted wherever it appears in server text.
// A shorter one ("sandbox", a weak password) is also an everyday word: it is redacted where it
// stands as a value of its own (between quotes, spaces, "=", ":", "," or "&"), not inside a path
// or a longer word, so that an error about ".../sandbox/api" still reads.
const longSecret = 12

// redact replaces the occurrences of secret in s that could be the secret itself.
func redact(s, secret string) string {
	if len(secret) < 4 || !strings.Contains(s, secret) {
		return s
	}
	if len(secret) >= longSecret {
		return strings.ReplaceAll(s, secret, Redacted)
	}
	var b strings.Builder
	for {
		i := strings.Index(s, secret)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(secret)
		if valueBoundary(s, i-1) && valueBoundary(s, end) {
			b.WriteString(s[:i] + Redacted)
		} else {
			b.WriteString(s[:end])
		}
		s = s[end:]
	}
}

// valueBoundary reports whether s[i] (outside s counts) ends a value.
func valueBoundary(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	return strings.IndexByte(" \t\"'`=:,&;.!?()[]{}<>", s[i]) >= 0
}
