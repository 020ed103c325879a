package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Token lifetimes of POST /api/authenticate (docs/leaf-api.md §1.1).
const (
	rememberMeTTL = 30 * 24 * time.Hour
	defaultTTL    = 24 * time.Hour
)

// handleAuthenticate answers POST /api/authenticate. rememberMe may be a string or a boolean.
func (s *Server) handleAuthenticate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username   string `json:"username"`
		Password   string `json:"password"`
		RememberMe any    `json:"rememberMe"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeBodyError(w, err)
		return
	}
	if body.Username != s.username || body.Password != s.password {
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "bad credentials")
		return
	}
	ttl := defaultTTL
	switch v := body.RememberMe.(type) {
	case bool:
		if v {
			ttl = rememberMeTTL
		}
	case string:
		if strings.EqualFold(v, "true") {
			ttl = rememberMeTTL
		}
	}
	if t := s.faults.config().TokenTTL; t > 0 {
		ttl = t
	}
	now := s.now()
	tok := s.issueToken(body.Username, now, ttl)
	s.mu.Lock()
	s.tokens[tok] = now.Add(ttl)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id_token": tok})
}

// issueToken returns a JWT-shaped token whose subject is the API owner.
func (s *Server) issueToken(sub string, now time.Time, ttl time.Duration) string {
	enc := base64.RawURLEncoding
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{
		"sub": sub, "auth": "ROLE_USER", "iat": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": hex.EncodeToString(nonce),
	})
	payload := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte("leaf-import sandbox"))
	mac.Write([]byte(payload))
	return payload + "." + enc.EncodeToString(mac.Sum(nil))
}

// authorized checks the bearer token; it answers 401 and returns false when it is missing,
// unknown or expired.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "a bearer token is required")
		return false
	}
	s.mu.Lock()
	exp, known := s.tokens[strings.TrimSpace(tok)]
	s.mu.Unlock()
	if !known {
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "invalid token")
		return false
	}
	if !s.now().Before(exp) {
		s.stats.fault(FaultTokenExpired)
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "token expired")
		return false
	}
	return true
}

// authed wraps a Leaf handler with the bearer check.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.authorized(w, r) {
			h(w, r)
		}
	}
}
