package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeProblem writes a JHipster-style problem JSON (docs/leaf-api.md §6.1).
func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	writeProblemFields(w, status, title, detail, nil)
}

// writeProblemFields writes a problem naming the request fields at fault.
func writeProblemFields(w http.ResponseWriter, status int, title, detail string, fields []string) {
	body := map[string]any{
		"type":    "https://www.jhipster.tech/problem/problem-with-message",
		"title":   title,
		"status":  status,
		"detail":  detail,
		"message": fmt.Sprintf("error.http.%d", status),
	}
	if len(fields) > 0 {
		body["type"] = "https://www.jhipster.tech/problem/constraint-violation"
		body["message"] = "error.validation"
		var fe []map[string]string
		for _, f := range fields {
			fe = append(fe, map[string]string{"objectName": "credentials", "field": f, "message": "invalid or missing"})
		}
		body["fieldErrors"] = fe
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// badField answers 400 naming one field.
func badField(w http.ResponseWriter, field, detail string) {
	writeProblemFields(w, http.StatusBadRequest, "Method argument not valid", detail, []string{field})
}

// writeRateLimited answers 429 with Leaf's documented body (docs/leaf-api.md §6.2).
func writeRateLimited(w http.ResponseWriter, limit string, retryAfter bool) {
	if retryAfter {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"error":       "Request limit exceeded",
		"message":     "You have exceeded the request limit (" + limit + "). Wait a few seconds and retry with exponential backoff.",
		"status_code": http.StatusTooManyRequests,
	})
}

// decodeObject decodes a JSON object body; ok is false after it answered 400 (or 413 for a
// body over the limit).
func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m == nil {
		writeBodyError(w, err)
		return nil, false
	}
	return m, true
}

// writeBodyError answers a body that could not be read or decoded: 413 beyond the size limit,
// 400 otherwise.
func writeBodyError(w http.ResponseWriter, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeProblem(w, http.StatusRequestEntityTooLarge, "Payload Too Large",
			fmt.Sprintf("the request body is larger than %d bytes", tooLarge.Limit))
		return
	}
	writeProblem(w, http.StatusBadRequest, "Bad Request", "the body must be a JSON object")
}

// str returns m[k] as a string and whether it is a non-empty string.
func str(m map[string]any, k string) (string, bool) {
	s, ok := m[k].(string)
	return s, ok && strings.TrimSpace(s) != ""
}

// windowLimit is a fixed-window request limit.
type windowLimit struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	start  time.Time
	count  int
	unit   string
}

func parseWindowLimit(spec string) (*windowLimit, error) {
	if spec == "" {
		return nil, nil
	}
	var n int
	var unit string
	if _, err := fmt.Sscanf(strings.Replace(spec, "/", " ", 1), "%d %s", &n, &unit); err != nil || n <= 0 {
		return nil, fmt.Errorf("rate limit %q: want N/m or N/s", spec)
	}
	w := &windowLimit{n: n}
	switch unit {
	case "m", "min", "minute":
		w.window, w.unit = time.Minute, "minute"
	case "s", "sec", "second":
		w.window, w.unit = time.Second, "second"
	default:
		return nil, fmt.Errorf("rate limit %q: unit must be m or s", spec)
	}
	return w, nil
}

// allow counts one request and reports whether it fits the window.
func (w *windowLimit) allow(now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now.Sub(w.start) >= w.window {
		w.start, w.count = now, 0 // a window opens with its first request
	}
	w.count++
	return w.count <= w.n
}

func (w *windowLimit) describe() string { return fmt.Sprintf("%d per %s", w.n, w.unit) }
