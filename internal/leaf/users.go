package leaf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// User is a Leaf user with the provider credentials embedded in it (docs/leaf-api.md §2.2, §4).
type User struct {
	ID         string
	Name       string
	Email      string
	Phone      string
	Address    string
	ExternalID string
	// Credentials holds one entry per connected provider known to the provider table, sorted
	// by provider name. Missing, null and {} (no id) embedded objects are "not connected".
	Credentials []*Credential
}

// Credential returns the user's credential of provider p, nil when not connected.
func (u *User) Credential(p *Provider) *Credential {
	for _, c := range u.Credentials {
		if c.Provider == p {
			return c
		}
	}
	return nil
}

// UnmarshalJSON decodes a user resource, tolerating unknown properties and any casing of the
// *Credentials properties.
func (u *User) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*u = User{}
	for k, v := range raw {
		switch k {
		case "id":
			u.ID = jsonString(v)
		case "name":
			u.Name = jsonString(v)
		case "email":
			u.Email = jsonString(v)
		case "phone":
			u.Phone = jsonString(v)
		case "address":
			u.Address = jsonString(v)
		case "externalId":
			u.ExternalID = jsonString(v)
		default:
			if !strings.HasSuffix(strings.ToLower(k), "credentials") {
				continue
			}
			p, ok := ProviderByUserField(k)
			if !ok {
				continue
			}
			c, err := decodeCredential(p, v)
			if err != nil {
				return fmt.Errorf("decode %s: %w", k, err)
			}
			if c != nil {
				u.Credentials = append(u.Credentials, c)
			}
		}
	}
	slices.SortFunc(u.Credentials, func(a, b *Credential) int { return strings.Compare(a.Provider.Name, b.Provider.Name) })
	return nil
}

// jsonString returns a JSON string's value, "" for null or any other type.
func jsonString(v json.RawMessage) string {
	if len(v) == 0 || v[0] != '"' {
		return ""
	}
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

// UserFields are the scalar fields of a user create or update; nil means "not sent".
type UserFields struct {
	Name       *string
	Email      *string
	Phone      *string
	Address    *string
	ExternalID *string
}

func (f UserFields) body() map[string]any {
	m := map[string]any{}
	set := func(k string, v *string) {
		if v != nil {
			m[k] = *v
		}
	}
	set("name", f.Name)
	set("email", f.Email)
	set("phone", f.Phone)
	set("address", f.Address)
	set("externalId", f.ExternalID)
	return m
}

// apply writes the set fields into u.
func (f UserFields) apply(u *User) {
	for _, p := range []struct {
		dst *string
		src *string
	}{{&u.Name, f.Name}, {&u.Email, f.Email}, {&u.Phone, f.Phone}, {&u.Address, f.Address}, {&u.ExternalID, f.ExternalID}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
}

// UserFilter narrows a user listing (exact match, docs/leaf-api.md U5).
type UserFilter struct {
	ExternalID string
	Email      string
	Name       string
}

// UsersPageSize is the page size the client lists users with (Leaf's maximum).
const UsersPageSize = 100

// maxListRestarts bounds how often a listing starts over because X-Total-Count moved.
const maxListRestarts = 5

// ErrListUnstable means the user list kept changing size while it was being read.
var ErrListUnstable = errors.New("leaf: user list kept changing while paging; try again")

// ListUsers reads every user matching filter: GET /users?size=100&sort=id,asc page by page
// (docs/leaf-api.md §2.3). If X-Total-Count changes between pages the read starts over, since a page
// boundary moved and a user could have been missed.
func (c *Client) ListUsers(ctx context.Context, filter UserFilter) ([]User, error) {
	q := userQuery(filter)
	for restart := 0; restart <= maxListRestarts; restart++ {
		users, stable, err := c.listUsersOnce(ctx, q, false)
		if err != nil {
			return nil, err
		}
		if stable {
			return users, nil
		}
		c.logger.Info("user count changed while paging, reading again from the first page")
	}
	return nil, ErrListUnstable
}

// ReadUsers reads every user page once and returns what it saw, and whether the read is
// complete: the total did not move while it paged, so a user it does not show was not in
// Leaf's list. An incomplete read (the account grew or shrank under it, as it does while users
// just created appear) still proves that the users it shows exist; the caller looks up the rest
// one by one rather than read again.
func (c *Client) ReadUsers(ctx context.Context) ([]User, bool, error) {
	return c.listUsersOnce(ctx, userQuery(UserFilter{}), true)
}

func userQuery(filter UserFilter) url.Values {
	q := url.Values{"size": {strconv.Itoa(UsersPageSize)}, "sort": {"id,asc"}}
	for k, v := range map[string]string{"externalId": filter.ExternalID, "email": filter.Email, "name": filter.Name} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// listUsersOnce reads every page. The first page tells the total (X-Total-Count); the others
// are then read in parallel, up to the client's concurrency, each through the pacer like every
// request. A page whose total differs means the list moved: stable is false. With whole, every
// page is read even then and users holds what they showed; without it, the pages left are
// skipped (the caller reads again). Without a total the pages are read one after another.
func (c *Client) listUsersOnce(ctx context.Context, q url.Values, whole bool) ([]User, bool, error) {
	first := cloneQuery(q)
	first.Set("page", "0")
	var users []User
	resp, err := c.do(ctx, &request{method: http.MethodGet, path: UserManagementPath + "/users", query: first}, &users)
	if err != nil {
		return nil, false, err
	}
	total, terr := strconv.Atoi(resp.header.Get("X-Total-Count"))
	if terr != nil {
		return c.listUsersSequential(ctx, q, users)
	}
	pages := (total + UsersPageSize - 1) / UsersPageSize
	if len(users) < UsersPageSize || pages <= 1 {
		// One page holds them all. Fewer users than the total means the list moved (or Leaf
		// pages smaller than asked, which doctor reports): read again rather than miss any.
		return users, len(users) >= total, nil
	}
	results := make([][]User, pages)
	results[0] = users
	var moved atomic.Bool
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(c.concurrency, 1))
	for page := 1; page < pages; page++ {
		g.Go(func() error {
			if moved.Load() && !whole {
				return nil
			}
			pq := cloneQuery(q)
			pq.Set("page", strconv.Itoa(page))
			var us []User
			resp, err := c.do(gctx, &request{method: http.MethodGet, path: UserManagementPath + "/users", query: pq}, &us)
			if err != nil {
				return err
			}
			want := UsersPageSize
			if page == pages-1 {
				want = total - page*UsersPageSize
			}
			if t, err := strconv.Atoi(resp.header.Get("X-Total-Count")); err == nil && t != total || len(us) != want {
				moved.Store(true)
			}
			results[page] = us
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, false, err
	}
	all := make([]User, 0, total)
	seen := make(map[string]bool, total)
	for _, us := range results {
		for _, u := range us {
			if !seen[u.ID] { // a shifted boundary can show a user on two pages
				seen[u.ID] = true
				all = append(all, u)
			}
		}
	}
	return all, !moved.Load(), nil
}

func cloneQuery(q url.Values) url.Values {
	out := make(url.Values, len(q)+1)
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// listUsersSequential reads the pages after the first one by one (Leaf sent no total).
func (c *Client) listUsersSequential(ctx context.Context, q url.Values, first []User) ([]User, bool, error) {
	all := first
	if len(first) < UsersPageSize {
		return all, true, nil
	}
	total := -1
	for page := 1; ; page++ {
		q.Set("page", strconv.Itoa(page))
		var users []User
		resp, err := c.do(ctx, &request{method: http.MethodGet, path: UserManagementPath + "/users", query: q}, &users)
		if err != nil {
			return nil, false, err
		}
		if t, err := strconv.Atoi(resp.header.Get("X-Total-Count")); err == nil {
			if total >= 0 && t != total {
				return nil, false, nil
			}
			total = t
		}
		all = append(all, users...)
		if len(users) < UsersPageSize || (total >= 0 && (page+1)*UsersPageSize >= total) {
			return all, true, nil
		}
	}
}

// UsersPage reads one page of users as Leaf answers it, with the answer's headers (paging,
// Date, rate-limit headers): what doctor checks. sort is "id,asc" when empty.
func (c *Client) UsersPage(ctx context.Context, filter UserFilter, page, size int, sort string) ([]User, http.Header, error) {
	if sort == "" {
		sort = "id,asc"
	}
	q := url.Values{"size": {strconv.Itoa(size)}, "sort": {sort}, "page": {strconv.Itoa(page)}}
	for k, v := range map[string]string{"externalId": filter.ExternalID, "email": filter.Email, "name": filter.Name} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var users []User
	resp, err := c.do(ctx, &request{method: http.MethodGet, path: UserManagementPath + "/users", query: q}, &users)
	if err != nil {
		return nil, nil, err
	}
	return users, resp.header, nil
}

// SetPatchUnsupported tells the client whether PATCH /users/{id} works on this account (known
// from doctor's facts, or forced by --patch), so that it does not find out by trying.
func (c *Client) SetPatchUnsupported(v bool) { c.patchUnsupported.Store(v) }

// PatchUnsupported reports whether the client found (or was told) that Leaf has no PATCH on
// users, and updates with GET and a PUT.
func (c *Client) PatchUnsupported() bool { return c.patchUnsupported.Load() }

// GetUser reads one user (GET /users/{id}).
func (c *Client) GetUser(ctx context.Context, id string) (*User, error) {
	var u User
	if _, err := c.do(ctx, &request{method: http.MethodGet, path: userPath(id)}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateUser creates a user (POST /users). It is not idempotent: on an AmbiguousError look the
// user up by externalId before sending it again.
func (c *Client) CreateUser(ctx context.Context, f UserFields) (*User, error) {
	var u User
	if _, err := c.do(ctx, &request{method: http.MethodPost, path: UserManagementPath + "/users", body: f.body()}, &u); err != nil {
		return nil, err
	}
	if u.ID == "" {
		return nil, errors.New("leaf: POST /users answered without an id")
	}
	return &u, nil
}

// UpdateUser changes the set fields of a user. It sends PATCH /users/{id}; where Leaf does not
// support PATCH (405, or 404 for an existing user) it falls back to GET and a PUT that re-sends
// every credential id, since a bare PUT drops credentials (docs/leaf-api.md §2.6). The client
// remembers the fallback for later calls.
func (c *Client) UpdateUser(ctx context.Context, id string, f UserFields) (*User, error) {
	if !c.patchUnsupported.Load() {
		var u User
		_, err := c.do(ctx, &request{method: http.MethodPatch, path: userPath(id), body: f.body()}, &u)
		switch st := StatusCode(err); {
		case err == nil:
			if u.ID == "" {
				return c.GetUser(ctx, id)
			}
			return &u, nil
		case st == http.StatusMethodNotAllowed:
			c.patchUnsupported.Store(true)
		case st == http.StatusNotFound:
			// Either the user is gone or the route is; the GET below tells which.
		default:
			return nil, err
		}
	}
	cur, err := c.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	c.patchUnsupported.Store(true)
	f.apply(cur)
	return c.PutUser(ctx, cur)
}

// PutUser replaces a user with u (PUT /users, id in the body), re-sending the id of every
// credential u holds so that Leaf keeps them.
func (c *Client) PutUser(ctx context.Context, u *User) (*User, error) {
	body := map[string]any{
		"id": u.ID, "name": u.Name, "email": u.Email, "phone": u.Phone, "address": u.Address,
	}
	if u.ExternalID != "" {
		body["externalId"] = u.ExternalID
	}
	for _, cr := range u.Credentials {
		body[cr.Provider.UserField] = map[string]string{"id": cr.ID}
	}
	var out User
	if _, err := c.do(ctx, &request{method: http.MethodPut, path: UserManagementPath + "/users", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteUser deletes a user (DELETE /users/{id}).
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	_, err := c.do(ctx, &request{method: http.MethodDelete, path: userPath(id)}, nil)
	return err
}

func userPath(id string) string { return UserManagementPath + "/users/" + url.PathEscape(id) }

// MarshalJSON encodes a user as Leaf does, credentials under their user-object property.
// Secret values stay redacted: this encoding is for tests and debugging, never for requests.
func (u User) MarshalJSON() ([]byte, error) {
	m := map[string]any{"id": u.ID, "name": u.Name, "email": u.Email, "phone": u.Phone, "address": u.Address}
	if u.ExternalID != "" {
		m["externalId"] = u.ExternalID
	}
	for _, c := range u.Credentials {
		cm := map[string]any{"id": c.ID, "status": c.Status, "createdTime": c.CreatedTime}
		for _, f := range c.Fields {
			cm[f.Name] = f.Value
		}
		m[c.Provider.UserField] = cm
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(m)
	return bytes.TrimSpace(buf.Bytes()), err
}
