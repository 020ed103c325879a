package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// userScalars are the user fields a create, PUT or PATCH may set.
var userScalars = []string{"name", "email", "phone", "address", "externalId"}

func scalarPtr(u *User, k string) *string {
	switch k {
	case "name":
		return &u.Name
	case "email":
		return &u.Email
	case "phone":
		return &u.Phone
	case "address":
		return &u.Address
	}
	return nil
}

// renderUser is the user resource with embedded credentials (docs/leaf-api.md §2.2, §4).
func renderUser(u *User) map[string]any {
	m := map[string]any{"id": u.ID, "name": u.Name, "email": u.Email, "phone": u.Phone, "address": u.Address}
	if u.ExternalID != "" {
		m["externalId"] = u.ExternalID
	}
	for name, c := range u.Credentials {
		p, _ := leaf.LookupProvider(name)
		m[p.UserField] = renderCredential(p, c)
	}
	return m
}

// pageParams reads page and size (default 20, at most 100); ok is false after a 400.
func pageParams(w http.ResponseWriter, q url.Values) (page, size int, ok bool) {
	page, size = 0, 20
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 {
			badField(w, "page", "page must be a non-negative integer")
			return 0, 0, false
		}
	}
	if v := q.Get("size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 {
			badField(w, "size", "size must be a positive integer")
			return 0, 0, false
		}
	}
	return page, min(size, 100), true
}

// setPageHeaders sets X-Total-Count and a Link header in the documented form (docs/leaf-api.md §2.3).
func setPageHeaders(w http.ResponseWriter, resource string, page, size, total int) {
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	last := 0
	if total > 0 {
		last = (total - 1) / size
	}
	link := func(p int, rel string) string {
		return fmt.Sprintf(`<api/%s?page=%d&size=%d>;rel="%s"`, resource, p, size, rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"))
	}
	if page > 0 {
		links = append(links, link(page-1, "prev"))
	}
	links = append(links, link(last, "last"), link(0, "first"))
	w.Header().Set("Link", strings.Join(links, ","))
}

// handleListUsers answers GET /users with exact filters, id sorting and paging. Users created
// less than the lag fault ago are left out of lists.
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, size, ok := pageParams(w, q)
	if !ok {
		return
	}
	desc := false
	for _, v := range q["sort"] {
		field, dir, _ := strings.Cut(v, ",")
		if field != "id" {
			badField(w, "sort", "sort supports id only")
			return
		}
		desc = strings.EqualFold(dir, "desc")
	}
	ext, email, name := q.Get("externalId"), q.Get("email"), q.Get("name")
	if ext != "" {
		s.stats.with(func(st *Stats) { st.Mutations.Lookups++ })
	}
	now := s.now()
	lag := s.faults.config().Lag

	s.mu.Lock()
	ids := s.st.order
	if ext != "" {
		ids = slices.Clone(s.st.byExtID[ext])
		slices.Sort(ids)
	}
	hidden := false
	visible := func(u *User) bool {
		if lag > 0 && now.Sub(u.CreatedAt) < lag {
			hidden = true
			return false
		}
		return (email == "" || u.Email == email) && (name == "" || u.Name == name)
	}
	var matched []string
	if ext == "" && email == "" && name == "" {
		// Ids grow with creation time, so lagging users are a tail of the order.
		n := len(ids)
		for n > 0 && !visible(s.st.users[ids[n-1]]) {
			n--
		}
		matched = ids[:n]
	} else {
		for _, id := range ids {
			if visible(s.st.users[id]) {
				matched = append(matched, id)
			}
		}
	}
	total := len(matched)
	out := make([]map[string]any, 0, size)
	for i := page * size; i < total && i < (page+1)*size; i++ {
		idx := i
		if desc {
			idx = total - 1 - i
		}
		out = append(out, renderUser(s.st.users[matched[idx]]))
	}
	s.mu.Unlock()

	if hidden {
		s.stats.fault(FaultLag)
	}
	setPageHeaders(w, "users", page, size, total)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[r.PathValue("id")]
	if !ok {
		userNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, renderUser(u))
}

func userNotFound(w http.ResponseWriter) {
	writeProblem(w, http.StatusNotFound, "Not Found", "no Leaf user with this id")
}

// readScalars copies the user fields present in body into u; absent ones are cleared when
// clearAbsent. It answers 400 and returns false on a non-string value.
func readScalars(w http.ResponseWriter, body map[string]any, u *User, clearAbsent bool, setExt func(string)) bool {
	for _, k := range userScalars {
		v, present := body[k]
		if !present && !clearAbsent {
			continue
		}
		str, isString := v.(string) // "" when absent or null
		if v != nil && !isString {
			badField(w, k, k+" must be a string")
			return false
		}
		if k == "externalId" {
			setExt(str)
		} else {
			*scalarPtr(u, k) = str
		}
	}
	return true
}

// handleCreateUser answers POST /users. Like the real API it does not enforce externalId
// uniqueness (docs/leaf-api.md U4); the stats count creates that duplicate one.
func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	if id, _ := body["id"].(string); id != "" {
		writeProblem(w, http.StatusBadRequest, "A new user cannot already have an ID", "id must be empty on create")
		return
	}
	u := &User{CreatedAt: s.now(), Credentials: map[string]*Credential{}}
	ext := ""
	if !readScalars(w, body, u, false, func(v string) { ext = v }) {
		return
	}
	s.mu.Lock()
	u.ID = s.st.newID()
	u.ExternalID = ext
	dup := ext != "" && len(s.st.byExtID[ext]) > 0
	s.st.addUser(u)
	s.dirty = true
	out := renderUser(u)
	s.mu.Unlock()
	s.stats.with(func(st *Stats) {
		st.Mutations.UserCreates++
		if dup {
			st.Mutations.DuplicateUserCreates++
		}
	})
	w.Header().Set("Location", leaf.UserManagementPath+"/users/"+u.ID)
	writeJSON(w, http.StatusCreated, out)
}

// handlePutUser answers PUT /users: a full replace by the id in the body. Credentials the body
// does not reference by {"id": ...} are detached (docs/leaf-api.md §2.6).
func (s *Server) handlePutUser(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	id, _ := body["id"].(string)
	if id == "" {
		badField(w, "id", "PUT /users needs the user id in the body")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, found := s.st.users[id]
	if !found {
		userNotFound(w)
		return
	}
	keep := map[string]bool{}
	for k, v := range body {
		p, isCred := leaf.ProviderByUserField(k)
		if !isCred {
			continue
		}
		ref, _ := v.(map[string]any)
		refID, _ := ref["id"].(string)
		if ref == nil || refID == "" {
			continue
		}
		c := cur.Credentials[p.Name]
		if c == nil || c.ID != refID {
			badField(w, k, "no "+p.Name+" credential with this id on this user")
			return
		}
		keep[p.Name] = true
	}
	next := cloneUser(cur)
	if !readScalars(w, body, next, true, func(string) {}) {
		return
	}
	ext, _ := body["externalId"].(string)
	for name, c := range next.Credentials {
		if !keep[name] {
			delete(next.Credentials, name)
			delete(s.st.events, c.ID)
		}
	}
	next.ExternalID = cur.ExternalID
	s.st.users[id] = next
	s.st.setExternalID(next, ext)
	s.dirty = true
	writeJSON(w, http.StatusOK, renderUser(next))
}

// handlePatchUser answers PATCH /users/{id}: a merge of the scalar fields present in the body;
// credentials are untouched (docs/leaf-api.md U2).
func (s *Server) handlePatchUser(w http.ResponseWriter, r *http.Request) {
	if s.patchDisabled {
		writeProblem(w, http.StatusMethodNotAllowed, "Method Not Allowed", "PATCH is not supported")
		return
	}
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.st.users[r.PathValue("id")]
	if !found {
		userNotFound(w)
		return
	}
	next := cloneUser(u)
	ext, setExt := "", false
	if !readScalars(w, body, next, false, func(v string) { ext, setExt = v, true }) {
		return
	}
	s.st.users[u.ID] = next
	if setExt {
		s.st.setExternalID(next, ext)
	}
	s.dirty = true
	writeJSON(w, http.StatusOK, renderUser(next))
}

// handleDeleteUser answers DELETE /users/{id}; the user's credentials and api keys go with it.
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if _, ok := s.st.users[id]; !ok {
		userNotFound(w)
		return
	}
	s.st.removeUser(id)
	s.dirty = true
	w.WriteHeader(http.StatusNoContent)
}
