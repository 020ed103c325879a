package leaf

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClassify(t *testing.T) {
	netErr := io.ErrUnexpectedEOF
	cases := []struct {
		name    string
		a       Attempt
		want    Verdict
		wantWhy string
	}{
		{"GET 200", Attempt{Method: "GET", Status: 200, Written: true}, Success, ""},
		{"POST 201", Attempt{Method: "POST", Status: 201, Written: true}, Success, ""},
		{"DELETE 204", Attempt{Method: "DELETE", Status: 204, Written: true}, Success, ""},
		{"GET 503", Attempt{Method: "GET", Status: 503, Written: true}, Retry, "503"},
		{"PUT 502", Attempt{Method: "PUT", Status: 502, Written: true}, Retry, "502"},
		{"PATCH 500", Attempt{Method: "PATCH", Status: 500, Written: true}, Retry, "500"},
		{"DELETE 504", Attempt{Method: "DELETE", Status: 504, Written: true}, Retry, "504"},
		{"GET 408", Attempt{Method: "GET", Status: 408, Written: true}, Retry, "408"},
		{"GET network", Attempt{Method: "GET", Err: netErr, Written: true}, Retry, "network"},
		{"GET 429", Attempt{Method: "GET", Status: 429, Written: true}, Retry, "429"},
		{"POST 429", Attempt{Method: "POST", Status: 429, Written: true}, Retry, "429"},
		{"POST unsent", Attempt{Method: "POST", Err: netErr, Written: false}, Retry, "unsent"},
		{"POST 503 written", Attempt{Method: "POST", Status: 503, Written: true}, Ambiguous, "503"},
		{"POST 500 written", Attempt{Method: "POST", Status: 500, Written: true}, Ambiguous, "500"},
		{"POST reset written", Attempt{Method: "POST", Err: netErr, Written: true}, Ambiguous, "network"},
		{"POST 408", Attempt{Method: "POST", Status: 408, Written: true}, Ambiguous, "408"},
		{"auth POST 503", Attempt{Method: "POST", Safe: true, Status: 503, Written: true}, Retry, "503"},
		{"auth POST reset", Attempt{Method: "POST", Safe: true, Err: netErr, Written: true}, Retry, "network"},
		{"POST 400", Attempt{Method: "POST", Status: 400, Written: true}, Fail, ""},
		{"POST 409", Attempt{Method: "POST", Status: 409, Written: true}, Fail, ""},
		{"GET 404", Attempt{Method: "GET", Status: 404, Written: true}, Fail, ""},
		{"GET 401", Attempt{Method: "GET", Status: 401, Written: true}, Fail, ""},
		{"PUT 302", Attempt{Method: "PUT", Status: 302, Written: true}, Fail, ""},
		{"canceled", Attempt{Method: "POST", Err: context.Canceled, Written: true}, Fail, "canceled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, why := Classify(c.a)
			assert.Equal(t, c.want, v, "%+v", c.a)
			assert.Equal(t, c.wantWhy, why)
		})
	}
}

func TestBackoffFullJitter(t *testing.T) {
	b := Backoff{Base: 250 * time.Millisecond, Cap: 30 * time.Second, Attempts: 6}
	b.Rand = func() float64 { return 0.999999 }
	assert.InDelta(t, float64(250*time.Millisecond), float64(b.Delay(0)), float64(time.Millisecond))
	assert.InDelta(t, float64(500*time.Millisecond), float64(b.Delay(1)), float64(time.Millisecond))
	assert.InDelta(t, float64(4*time.Second), float64(b.Delay(4)), float64(10*time.Millisecond))
	assert.InDelta(t, float64(30*time.Second), float64(b.Delay(10)), float64(100*time.Millisecond), "capped")
	assert.InDelta(t, float64(30*time.Second), float64(b.Delay(80)), float64(100*time.Millisecond), "no overflow")
	b.Rand = func() float64 { return 0 }
	assert.Zero(t, b.Delay(3), "full jitter starts at zero")
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, 3*time.Second, parseRetryAfter("3", now))
	assert.Equal(t, 90*time.Second, parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter("", now))
	assert.Zero(t, parseRetryAfter("soon", now))
	assert.Zero(t, parseRetryAfter("-4", now))
	assert.Zero(t, parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
}

func TestErrorCode(t *testing.T) {
	assert.Equal(t, "http-400", ErrorCode(&APIError{StatusCode: 400}))
	assert.Equal(t, "rate-limited", ErrorCode(&RateLimitError{APIError: APIError{StatusCode: 429}}))
	assert.Equal(t, "ambiguous", ErrorCode(&AmbiguousError{Err: errors.New("x")}))
	assert.Equal(t, "auth", ErrorCode(&AuthError{Err: errors.New("x")}))
	assert.Equal(t, "network", ErrorCode(&TransportError{Err: io.EOF}))
	assert.Equal(t, "canceled", ErrorCode(context.Canceled))
	assert.True(t, IsNotFound(&RateLimitError{APIError: APIError{StatusCode: 404}}))
}
