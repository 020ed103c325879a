package sandbox

import (
	"net/http"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// routes registers the Leaf API (docs/leaf-api.md §8) and the admin endpoints.
func (s *Server) routes() {
	const um = leaf.UserManagementPath
	m := http.NewServeMux()
	m.HandleFunc("POST "+leaf.AuthenticatePath, s.handleAuthenticate)

	for _, users := range []string{um + "/users", um + "/users/{$}"} {
		m.HandleFunc("GET "+users, s.authed(s.handleListUsers))
		m.HandleFunc("POST "+users, s.authed(s.handleCreateUser))
		m.HandleFunc("PUT "+users, s.authed(s.handlePutUser))
	}
	m.HandleFunc("GET "+um+"/users/{id}", s.authed(s.handleGetUser))
	m.HandleFunc("PATCH "+um+"/users/{id}", s.authed(s.handlePatchUser))
	m.HandleFunc("DELETE "+um+"/users/{id}", s.authed(s.handleDeleteUser))

	m.HandleFunc("GET "+um+"/users/{id}/{cred}", s.authed(s.handleGetCredential))
	m.HandleFunc("POST "+um+"/users/{id}/{cred}", s.authed(s.handleCreateCredential))
	m.HandleFunc("DELETE "+um+"/users/{id}/{cred}", s.authed(s.handleDeleteCredential))
	// One pattern for both three-segment reads: Go's mux cannot rank {cred}/events against
	// organizations/{p}.
	m.HandleFunc("GET "+um+"/users/{id}/{cred}/{sub}", s.authed(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.PathValue("cred") == "organizations":
			s.handleOrganizations(w, r)
		case r.PathValue("sub") == "events":
			s.handleCredentialEvents(w, r)
		default:
			writeProblem(w, http.StatusNotFound, "Not Found", "no such route")
		}
	}))

	m.HandleFunc("GET "+um+"/api-keys", s.authed(s.handleListAPIKeys))
	m.HandleFunc("POST "+um+"/api-keys", s.authed(s.handleCreateAPIKey))
	m.HandleFunc("DELETE "+um+"/api-keys/{id}", s.authed(s.handleRevokeAPIKey))

	m.HandleFunc("GET "+um+"/app-keys/{p}", s.authed(s.handleListApps))
	for _, withEnv := range []bool{false, true} {
		path := um + "/app-keys/{p}/{app}"
		if withEnv {
			path += "/{env}"
		}
		m.HandleFunc("GET "+path, s.appHandler(withEnv, s.getApp))
		m.HandleFunc("POST "+path, s.appHandler(withEnv, s.createApp))
		m.HandleFunc("PUT "+path, s.appHandler(withEnv, s.updateApp))
		m.HandleFunc("DELETE "+path, s.appHandler(withEnv, s.deleteApp))
	}
	m.HandleFunc("GET "+leaf.ConfigPath, s.authed(s.handleGetDefaultConfig))
	m.HandleFunc("PATCH "+leaf.ConfigPath, s.authed(s.handlePatchDefaultConfig))
	m.HandleFunc("GET "+leaf.ConfigPath+"/{id}", s.authed(s.handleGetUserConfig))
	m.HandleFunc("POST "+leaf.ConfigPath+"/{id}", s.authed(s.handleCreateUserConfig))
	m.HandleFunc("PATCH "+leaf.ConfigPath+"/{id}", s.authed(s.handlePatchUserConfig))
	m.HandleFunc("DELETE "+leaf.ConfigPath+"/{id}", s.authed(s.handleDeleteUserConfig))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "Not Found", "the sandbox does not serve "+r.Method+" "+r.URL.Path)
	})
	s.leafMux = m

	a := http.NewServeMux()
	a.HandleFunc("GET /__sandbox/stats", s.handleStats)
	a.HandleFunc("POST /__sandbox/reset", s.handleReset)
	a.HandleFunc("GET /__sandbox/state", s.handleGetState)
	a.HandleFunc("PUT /__sandbox/state", s.handlePutState)
	a.HandleFunc("GET /__sandbox/faults", s.handleGetFaults)
	a.HandleFunc("PUT /__sandbox/faults", s.handlePutFaults)
	a.HandleFunc("PATCH /__sandbox/users/{id}/{cred}", s.handleSetCredential)
	s.adminMux = a
}
