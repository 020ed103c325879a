package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

// handleReset empties the data set and zeroes the counters; tokens stay valid.
func (s *Server) handleReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

// Reset empties the data set and zeroes the counters; issued tokens stay valid.
func (s *Server) Reset() {
	s.mu.Lock()
	s.st = newStore(1)
	s.dirty = true
	s.mu.Unlock()
	s.stats.reset()
}

func (s *Server) handleGetState(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.State())
}

func (s *Server) handlePutState(w http.ResponseWriter, r *http.Request) {
	st, err := DecodeState(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeBodyError(w, tooLarge)
		return
	}
	if err == nil {
		err = s.LoadState(st)
	}
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad Request", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"faults": s.faults.config().String()})
}

// handlePutFaults replaces the fault spec: {"faults": "SPEC"}; an empty SPEC turns faults off.
func (s *Server) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Faults string `json:"faults"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad Request", `want {"faults": "SPEC"}`)
		return
	}
	if err := s.SetFaults(body.Faults); err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad Request", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleSetCredential changes a stored credential as Leaf's background processing would:
// {"status": "INVALID"} marks it unhealthy; other string fields (a rotated refreshToken, say)
// are set too.
func (s *Server) handleSetCredential(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	p, ok := leaf.ProviderByPath(r.PathValue("cred"))
	if !ok {
		writeProblem(w, http.StatusNotFound, "Not Found", "unknown credential path")
		return
	}
	fields := map[string]string{}
	for k, v := range body {
		sv, isString := v.(string)
		if !isString {
			badField(w, k, k+" must be a string")
			return
		}
		fields[k] = sv
	}
	c, err := s.UpdateCredential(r.PathValue("id"), p, fields)
	if err != nil {
		writeProblem(w, http.StatusNotFound, "Not Found", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// errNoSuchCredential is returned by UpdateCredential for a missing user or credential.
type errNoSuchCredential struct{ msg string }

func (e errNoSuchCredential) Error() string { return e.msg }

// UpdateCredential sets fields of a stored credential; the key "status" sets its status.
// Marking it anything but OK logs a failed-refresh event, as Leaf's checks would.
func (s *Server) UpdateCredential(userID string, p *leaf.Provider, fields map[string]string) (*Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[userID]
	if !ok {
		return nil, errNoSuchCredential{"no Leaf user with this id"}
	}
	cur := u.Credentials[p.Name]
	if cur == nil {
		return nil, errNoSuchCredential{"the user has no " + p.Name + " credentials"}
	}
	next := cloneUser(u)
	c := next.Credentials[p.Name]
	for k, v := range fields {
		if k == "status" {
			c.Status = v
			if v != "OK" {
				// As a provider's OAuth server answers a refresh with a revoked token.
				s.st.addEvent(c.ID, http.StatusUnauthorized,
					`{"error":"invalid_grant","error_description":"token refresh failed: `+v+`"}`, s.now())
			}
			continue
		}
		c.Fields[k] = v
	}
	s.st.users[u.ID] = next
	s.dirty = true
	out := *c
	return &out, nil
}

// AddUser stores u as if it had been created through the API (an id is generated when u has
// none) and returns the stored copy. Credentials get ids, status OK and timestamps where
// missing. For seeding tests.
func (s *Server) AddUser(u *User) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := cloneUser(u)
	if c.ID == "" {
		c.ID = s.st.newID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now().Add(-time.Hour)
	}
	for _, cr := range c.Credentials {
		if cr.ID == "" {
			cr.ID = s.st.newID()
		}
		if cr.Status == "" {
			cr.Status = "OK"
		}
		if cr.CreatedTime == "" {
			cr.CreatedTime = leafTime(c.CreatedAt)
		}
	}
	s.st.addUser(c)
	s.dirty = true
	return cloneUser(c)
}
