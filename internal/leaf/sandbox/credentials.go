package sandbox

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// defaultScopes is what the sandbox puts in tokenMetadata for OAuth providers.
var defaultScopes = []string{"FIELDS:READ", "OPERATIONS:READ"}

// renderCredential is the stored credential as GET returns it: everything but the fields Leaf
// does not echo (docs/leaf-api.md §3.2), with tokenMetadata for OAuth providers.
func renderCredential(p *leaf.Provider, c *Credential) map[string]any {
	m := map[string]any{"id": c.ID, "status": c.Status, "createdTime": c.CreatedTime}
	for k, v := range c.Fields {
		if !slices.Contains(p.NotReturned, k) {
			m[k] = v
		}
	}
	if p.OAuthScopes {
		m["tokenMetadata"] = map[string]any{"scopes": c.Scopes}
	}
	return m
}

// credentialTarget resolves /users/{id}/{cred}; it answers 404 and returns ok=false when the
// path or the user is unknown. s.mu is held.
func (s *Server) credentialTarget(w http.ResponseWriter, r *http.Request) (*User, *leaf.Provider, bool) {
	p, ok := leaf.ProviderByPath(r.PathValue("cred"))
	if !ok {
		writeProblem(w, http.StatusNotFound, "Not Found", "no such route")
		return nil, nil, false
	}
	u, ok := s.st.users[r.PathValue("id")]
	if !ok {
		userNotFound(w)
		return nil, nil, false
	}
	return u, p, true
}

// existingCredential resolves /users/{id}/{cred} to a stored credential; it answers 404 and
// returns ok=false when there is none. s.mu is held.
func (s *Server) existingCredential(w http.ResponseWriter, r *http.Request) (*User, *leaf.Provider, *Credential, bool) {
	u, p, ok := s.credentialTarget(w, r)
	if !ok {
		return nil, nil, nil, false
	}
	c := u.Credentials[p.Name]
	if c == nil {
		writeProblem(w, http.StatusNotFound, "Not Found", "the Leaf user has no "+p.Name+" credentials")
		return nil, nil, nil, false
	}
	return u, p, c, true
}

func (s *Server) handleGetCredential(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, p, c, ok := s.existingCredential(w, r); ok {
		writeJSON(w, http.StatusOK, renderCredential(p, c))
	}
}

// validateCreateBody checks a credential create body against the provider table: every
// required field a non-empty string, clientEnvironment STAGE or PRODUCTION. It answers 400
// naming the fields and returns false on a problem.
func validateCreateBody(w http.ResponseWriter, p *leaf.Provider, body map[string]any) bool {
	var missing []string
	for _, f := range p.Required {
		if _, ok := str(body, f); !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		writeProblemFields(w, http.StatusBadRequest, "Method argument not valid",
			"missing required field(s): "+strings.Join(missing, ", "), missing)
		return false
	}
	for _, f := range p.CreateFields() {
		if v, present := body[f]; present && v != nil {
			if _, isString := v.(string); !isString {
				badField(w, f, f+" must be a string")
				return false
			}
		}
	}
	if p.Environment != leaf.EnvNone {
		if env, present := body[leaf.FieldClientEnvironment].(string); present && !leaf.ValidEnvironment(env) {
			badField(w, leaf.FieldClientEnvironment, "clientEnvironment must be STAGE or PRODUCTION")
			return false
		}
	}
	return true
}

// handleCreateCredential answers POST /users/{id}/{cred}: 201 with the stored credential, 400
// naming a missing or invalid field, 409 when the user already has one (docs/leaf-api.md U10).
func (s *Server) handleCreateCredential(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, p, ok := s.credentialTarget(w, r)
	if !ok {
		return
	}
	if !validateCreateBody(w, p, body) {
		return
	}
	if u.Credentials[p.Name] != nil {
		s.stats.with(func(st *Stats) { st.Mutations.CredentialConflicts++ })
		writeProblem(w, http.StatusConflict, "Conflict", "the Leaf user already has "+p.Name+" credentials; delete them first")
		return
	}
	now := s.now()
	c := &Credential{ID: s.st.newID(), Status: "OK", CreatedTime: leafTime(now), Fields: map[string]string{}}
	for _, f := range p.CreateFields() {
		if v, ok := str(body, f); ok {
			c.Fields[f] = v
		}
	}
	if def := p.DefaultEnvironment(); def != "" && c.Fields[leaf.FieldClientEnvironment] == "" {
		c.Fields[leaf.FieldClientEnvironment] = def
	}
	for _, f := range p.Generated {
		if c.Fields[f] == "" {
			c.Fields[f] = s.generated(f)
		}
	}
	if p.OAuthScopes {
		c.Scopes = slices.Clone(defaultScopes)
	}
	next := cloneUser(u)
	next.Credentials[p.Name] = c
	s.st.users[u.ID] = next
	s.st.addEvent(c.ID, http.StatusOK, "credentials created", now)
	s.dirty = true
	s.stats.with(func(st *Stats) { st.Mutations.CredentialCreates++ })
	writeJSON(w, http.StatusCreated, renderCredential(p, c))
}

// generated returns a value Leaf would generate for field (tokens, ids). s.mu is held.
func (s *Server) generated(field string) string {
	if strings.HasSuffix(field, "Id") {
		return fmt.Sprint(s.st.rng.IntN(900000) + 100000)
	}
	return s.st.secret("gen-" + field)
}

func (s *Server) handleDeleteCredential(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, p, c, ok := s.existingCredential(w, r)
	if !ok {
		return
	}
	next := cloneUser(u)
	delete(next.Credentials, p.Name)
	s.st.users[u.ID] = next
	delete(s.st.events, c.ID)
	s.dirty = true
	w.WriteHeader(http.StatusNoContent)
}

// handleCredentialEvents answers GET /users/{id}/{cred}/events, newest first, paged.
func (s *Server) handleCredentialEvents(w http.ResponseWriter, r *http.Request) {
	page, size, ok := pageParams(w, r.URL.Query())
	if !ok {
		return
	}
	s.mu.Lock()
	u, p, c, ok := s.existingCredential(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	evs := slices.Clone(s.st.events[c.ID])
	s.mu.Unlock()
	asc := slices.Contains(r.URL.Query()["sort"], "createdDate,asc")
	if !asc {
		slices.Reverse(evs)
	}
	total := len(evs)
	out := []Event{}
	for i := page * size; i < total && i < (page+1)*size; i++ {
		out = append(out, evs[i])
	}
	setPageHeaders(w, "users/"+u.ID+"/"+p.CredentialPath+"/events", page, size, total)
	writeJSON(w, http.StatusOK, out)
}

// handleOrganizations answers GET /users/{id}/organizations/{provider} (docs/leaf-api.md §3.6, for
// awareness only): an empty list for a known user and provider.
func (s *Server) handleOrganizations(w http.ResponseWriter, r *http.Request) {
	if _, ok := leaf.LookupProvider(r.PathValue("sub")); !ok {
		writeProblem(w, http.StatusNotFound, "Not Found", "unknown provider")
		return
	}
	s.mu.Lock()
	_, ok := s.st.users[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		userNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, []any{})
}
