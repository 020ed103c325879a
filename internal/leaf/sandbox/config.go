package sandbox

import (
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// initialConfig is the API owner's configuration a fresh sandbox starts with: every sync on,
// as a new Leaf API owner has it (docs/leaf-api.md, Configurations).
func initialConfig() map[string]any {
	return map[string]any{
		"fieldsAutoSync": true, "operationsAutoSync": true, "machinesAutoSync": true,
		"implementsAutoSync": true, "operatorsAutoSync": true, "productsAutoSync": true,
		"zonesAutoSync": true, "customDataSync": false, "organizationDataSync": true,
		"operationsImageCreation": true, "fieldsAttachIntersection": 0.01, "fieldsMergeIntersection": 0.01,
		"geoimagesShape": "SQUARE", "geoimagesProjection": "EPSG:3857", "geoimagesResolution": 0.00001,
	}
}

// checkConfig checks the flags leaf-import knows against their types; other keys (color ramps,
// cleanup rules, flags newer than the table) are kept as sent, as Leaf keeps them.
func checkConfig(body map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(body)) {
		f, known := leaf.LookupConfigFlag(k)
		if !known {
			continue
		}
		v := body[k]
		ok := false
		switch f.Type {
		case leaf.ConfigBool:
			_, ok = v.(bool)
		case leaf.ConfigNumber:
			_, ok = v.(float64)
		case leaf.ConfigString:
			var s string
			s, ok = v.(string)
			ok = ok && (f.Values == nil || slices.Contains(f.Values, s))
		}
		if !ok {
			return fieldError{field: k, msg: fmt.Sprintf("%s must be a %s", k, f.Type)}
		}
	}
	return nil
}

type fieldError struct{ field, msg string }

func (e fieldError) Error() string { return e.msg }

// configBody decodes and checks a configuration body; ok is false after it answered 400.
func configBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body, ok := decodeObject(w, r)
	if !ok {
		return nil, false
	}
	if err := checkConfig(body); err != nil {
		fe := err.(fieldError)
		badField(w, fe.field, fe.msg)
		return nil, false
	}
	return body, true
}

func (s *Server) handleGetDefaultConfig(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.st.defaultConfig)
}

// handlePatchDefaultConfig merges the body into the API owner's configuration. Its flags can
// be changed but not removed: a null is refused.
func (s *Server) handlePatchDefaultConfig(w http.ResponseWriter, r *http.Request) {
	body, ok := configBody(w, r)
	if !ok {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(body)) {
		if body[k] == nil {
			badField(w, k, "the API owner's configuration cannot be set to null")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.Copy(s.st.defaultConfig, body)
	s.dirty = true
	writeJSON(w, http.StatusOK, s.st.defaultConfig)
}

// configUser resolves /configs/{id}; it answers 404 and returns nil for an unknown user. s.mu
// is held.
func (s *Server) configUser(w http.ResponseWriter, r *http.Request) *User {
	u, ok := s.st.users[r.PathValue("id")]
	if !ok {
		userNotFound(w)
		return nil
	}
	return u
}

func noUserConfig(w http.ResponseWriter) {
	writeProblem(w, http.StatusNotFound, "Not Found", "this Leaf user has no configuration of its own")
}

// userWithConfig resolves /configs/{id} to a user that has a configuration of its own; it
// answers 404 and returns nil otherwise. s.mu is held.
func (s *Server) userWithConfig(w http.ResponseWriter, r *http.Request) *User {
	u := s.configUser(w, r)
	if u != nil && u.Config == nil {
		noUserConfig(w)
		return nil
	}
	return u
}

func (s *Server) handleGetUserConfig(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userWithConfig(w, r); u != nil {
		writeJSON(w, http.StatusOK, u.Config)
	}
}

// handleCreateUserConfig answers POST /configs/{id}: 201 with the configuration, 409 when the
// user has one already (PATCH changes it).
func (s *Server) handleCreateUserConfig(w http.ResponseWriter, r *http.Request) {
	s.writeUserConfig(w, r, func(u *User, body map[string]any) bool {
		if u.Config != nil {
			writeProblem(w, http.StatusConflict, "Conflict", "this Leaf user has a configuration already; PATCH changes it")
			return false
		}
		u.Config = maps.Clone(body)
		writeJSON(w, http.StatusCreated, u.Config)
		return true
	})
}

// handlePatchUserConfig merges the body into the user's configuration; a null removes a flag
// (the user inherits it again). 404 when the user has none.
func (s *Server) handlePatchUserConfig(w http.ResponseWriter, r *http.Request) {
	s.writeUserConfig(w, r, func(u *User, body map[string]any) bool {
		if u.Config == nil {
			noUserConfig(w)
			return false
		}
		for k, v := range body {
			if v == nil {
				delete(u.Config, k)
			} else {
				u.Config[k] = v
			}
		}
		writeJSON(w, http.StatusOK, u.Config)
		return true
	})
}

// writeUserConfig checks the body, finds the user and lets write change its configuration
// (and answer); a write that reports true is counted.
func (s *Server) writeUserConfig(w http.ResponseWriter, r *http.Request, write func(u *User, body map[string]any) bool) {
	body, ok := configBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.configUser(w, r); u != nil && write(u, body) {
		s.dirty = true
		s.countConfigWrite(u)
	}
}

func (s *Server) handleDeleteUserConfig(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userWithConfig(w, r); u != nil {
		u.Config = nil
		s.dirty = true
		w.WriteHeader(http.StatusNoContent)
	}
}

// countConfigWrite counts a committed config write. s.mu is held.
func (s *Server) countConfigWrite(u *User) {
	late := len(u.Credentials) > 0
	s.stats.with(func(st *Stats) {
		st.Mutations.ConfigWrites++
		if late {
			st.Mutations.ConfigsAfterCredentials++
		}
	})
}
