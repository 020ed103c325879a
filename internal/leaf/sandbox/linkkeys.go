package sandbox

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// appTarget resolves /app-keys/{p}/{app}[/{env}]. Providers whose documented path has an
// environment segment need it; the others must not have one and show as PRODUCTION
// (docs/leaf-api.md §5.2). It answers and returns ok=false on a problem.
func appTarget(w http.ResponseWriter, r *http.Request, withEnv bool) (*leaf.Provider, string, string, bool) {
	p, ok := leaf.ProviderByAppSegment(r.PathValue("p"))
	if !ok {
		writeProblem(w, http.StatusNotFound, "Not Found", "no app keys for provider "+r.PathValue("p"))
		return nil, "", "", false
	}
	if withEnv != p.AppKey.WithEnvironment {
		writeProblem(w, http.StatusNotFound, "Not Found", "app keys of "+p.Name+" are at "+p.AppKey.PathShape())
		return nil, "", "", false
	}
	env := leaf.EnvProduction
	if withEnv {
		env = r.PathValue("env")
		if !leaf.ValidEnvironment(env) {
			badField(w, leaf.FieldClientEnvironment, "clientEnvironment must be STAGE or PRODUCTION")
			return nil, "", "", false
		}
	}
	return p, r.PathValue("app"), env, true
}

func renderApp(a *AppKey) map[string]any {
	return map[string]any{"provider": a.Provider, "appName": a.AppName, "clientEnvironment": a.ClientEnvironment, "createdTime": a.CreatedTime}
}

func (s *Server) handleListApps(w http.ResponseWriter, r *http.Request) {
	p, ok := leaf.ProviderByAppSegment(r.PathValue("p"))
	if !ok {
		writeProblem(w, http.StatusNotFound, "Not Found", "no app keys for provider "+r.PathValue("p"))
		return
	}
	s.mu.Lock()
	var apps []*AppKey
	for _, a := range s.st.apps {
		if a.Provider == p.AppKey.Segment {
			apps = append(apps, a)
		}
	}
	slices.SortFunc(apps, func(a, b *AppKey) int {
		return strings.Compare(a.AppName+"/"+a.ClientEnvironment, b.AppName+"/"+b.ClientEnvironment)
	})
	out := make([]map[string]any, 0, len(apps))
	for _, a := range apps {
		out = append(out, renderApp(a))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func appNotFound(w http.ResponseWriter) {
	writeProblem(w, http.StatusNotFound, "Not Found", "no app information with this name")
}

func (s *Server) appHandler(withEnv bool, h func(w http.ResponseWriter, r *http.Request, p *leaf.Provider, id, app, env string)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request) {
		p, app, env, ok := appTarget(w, r, withEnv)
		if ok {
			h(w, r, p, appKeyID(p.AppKey.Segment, app, env), app, env)
		}
	})
}

func (s *Server) getApp(w http.ResponseWriter, _ *http.Request, _ *leaf.Provider, id, _, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.apps[id]
	if !ok {
		appNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, renderApp(a))
}

// appBodyOK checks an app-key body: every field of one accepted set present, list fields
// arrays of strings, the others non-empty strings.
func appBodyOK(w http.ResponseWriter, p *leaf.Provider, body map[string]any, sets [][]string) bool {
	for f, v := range body {
		if p.AppKey.IsList(f) {
			items, isList := v.([]any)
			for _, it := range items {
				if _, isString := it.(string); !isString {
					isList = false
				}
			}
			if !isList && v != nil {
				badField(w, f, f+" must be an array of strings")
				return false
			}
		}
	}
	var missing []string
	for i, set := range sets {
		var m []string
		for _, f := range set {
			if _, ok := str(body, f); !ok {
				m = append(m, f)
			}
		}
		if len(m) == 0 {
			return true
		}
		if i == 0 {
			missing = m
		}
	}
	writeProblemFields(w, http.StatusBadRequest, "Method argument not valid",
		"missing required field(s): "+strings.Join(missing, ", "), missing)
	return false
}

func (s *Server) createApp(w http.ResponseWriter, r *http.Request, p *leaf.Provider, id, app, env string) {
	body, ok := decodeObject(w, r)
	if !ok || !appBodyOK(w, p, body, [][]string{p.AppKey.Required}) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.st.apps[id]; exists {
		s.stats.with(func(st *Stats) { st.Mutations.AppKeyConflicts++ })
		writeProblem(w, http.StatusConflict, "Conflict", "app information with this name already exists")
		return
	}
	a := &AppKey{Provider: p.AppKey.Segment, AppName: app, ClientEnvironment: env, CreatedTime: leafTime(s.now()), Fields: body}
	s.st.apps[id] = a
	s.dirty = true
	writeJSON(w, http.StatusCreated, renderApp(a))
}

// updateApp answers PUT: the create body, or one of the provider's documented alternatives
// (Stara's accessTokenClient).
func (s *Server) updateApp(w http.ResponseWriter, r *http.Request, p *leaf.Provider, id, _, _ string) {
	body, ok := decodeObject(w, r)
	if !ok || !appBodyOK(w, p, body, append([][]string{p.AppKey.Required}, p.AppKey.UpdateAlternatives...)) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, exists := s.st.apps[id]
	if !exists {
		appNotFound(w)
		return
	}
	next := *a
	next.Fields = map[string]any{}
	for k, v := range a.Fields {
		next.Fields[k] = v
	}
	for k, v := range body {
		next.Fields[k] = v
	}
	s.st.apps[id] = &next
	s.dirty = true
	writeJSON(w, http.StatusOK, renderApp(&next))
}

func (s *Server) deleteApp(w http.ResponseWriter, _ *http.Request, _ *leaf.Provider, id, _, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.st.apps[id]; !exists {
		appNotFound(w)
		return
	}
	delete(s.st.apps, id)
	s.dirty = true
	w.WriteHeader(http.StatusNoContent)
}

// Api keys (docs/leaf-api.md §5.1).

const defaultAPIKeyExpiry = 365 * 24 * time.Hour

// apiKeyTime is the zone-less format of the legacy api-key examples.
func apiKeyTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

func maskKey(k string) string {
	if len(k) <= 8 {
		return "xxxx...xxxx"
	}
	return k[:4] + "..." + k[len(k)-4:]
}

func (s *Server) handleListAPIKeys(w http.ResponseWriter, r *http.Request) {
	uid := r.URL.Query().Get("leafUserId")
	if uid == "" {
		badField(w, "leafUserId", "leafUserId is required")
		return
	}
	now := s.now()
	s.mu.Lock()
	if _, ok := s.st.users[uid]; !ok {
		s.mu.Unlock()
		userNotFound(w)
		return
	}
	var keys []*APIKey
	for _, k := range s.st.apiKeys {
		if k.LeafUserID == uid {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b *APIKey) int { return strings.Compare(a.ID, b.ID) })
	out := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		item := map[string]any{"id": k.ID, "key": maskKey(k.Key), "leafUserId": k.LeafUserID,
			"expiresAt": k.ExpiresAt, "description": k.Description, "valid": k.Valid && !expired(k, now)}
		if k.RevokedAt != "" {
			item["revokedAt"] = k.RevokedAt
		}
		out = append(out, item)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func expired(k *APIKey, now time.Time) bool {
	t, err := time.Parse("2006-01-02T15:04:05.000000", k.ExpiresAt)
	return err == nil && !now.Before(t)
}

func (s *Server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	uid, ok := str(body, "leafUserId")
	if !ok {
		badField(w, "leafUserId", "leafUserId is required")
		return
	}
	expiry := defaultAPIKeyExpiry
	if v, present := body["expiresIn"]; present && v != nil {
		n, isNum := v.(float64)
		if !isNum || n != float64(int64(n)) {
			badField(w, "expiresIn", "expiresIn must be an integer number of seconds")
			return
		}
		if n < leaf.MinAPIKeyExpiry {
			badField(w, "expiresIn", "expiresIn must be at least 900 seconds")
			return
		}
		expiry = time.Duration(n) * time.Second
	}
	desc, _ := body["description"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.users[uid]; !ok {
		userNotFound(w)
		return
	}
	k := &APIKey{ID: s.st.newID(), Key: s.st.secret("lk"), LeafUserID: uid,
		ExpiresAt: apiKeyTime(s.now().Add(expiry)), Description: desc, Valid: true}
	s.st.apiKeys[k.ID] = k
	s.dirty = true
	writeJSON(w, http.StatusCreated, map[string]any{"key": k.Key, "expiresAt": k.ExpiresAt, "valid": true})
}

func (s *Server) handleRevokeAPIKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.st.apiKeys[r.PathValue("id")]
	if !ok {
		writeProblem(w, http.StatusNotFound, "Not Found", "no api key with this id")
		return
	}
	if k.RevokedAt == "" {
		next := *k
		next.RevokedAt, next.Valid = apiKeyTime(s.now()), false
		s.st.apiKeys[k.ID] = &next
		s.dirty = true
	}
	w.WriteHeader(http.StatusNoContent)
}
