package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// StateVersion is the format version of the state document.
const StateVersion = 1

// State is the sandbox's whole data set: the document of GET /__sandbox/state and of the
// --state file. It holds secrets in clear: it is test data.
type State struct {
	Version int         `json:"version"`
	Seq     uint64      `json:"seq"`
	Users   []*User     `json:"users"`
	AppKeys []*AppKey   `json:"appKeys"`
	APIKeys []*APIKey   `json:"apiKeys"`
	Events  []*EventLog `json:"events,omitempty"`
	// DefaultConfig is the API owner's configuration; absent, the sandbox's defaults.
	DefaultConfig map[string]any `json:"defaultConfig,omitempty"`
}

// User is a stored Leaf user.
type User struct {
	ID         string    `json:"id"`
	Name       string    `json:"name,omitempty"`
	Email      string    `json:"email,omitempty"`
	Phone      string    `json:"phone,omitempty"`
	Address    string    `json:"address,omitempty"`
	ExternalID string    `json:"externalId,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	// Credentials by canonical provider name.
	Credentials map[string]*Credential `json:"credentials,omitempty"`
	// Config is the user's own configuration; nil when it inherits the API owner's.
	Config map[string]any `json:"config,omitempty"`
}

// Credential is a stored provider credential, every field as it was posted plus what Leaf
// generates.
type Credential struct {
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	CreatedTime string            `json:"createdTime"`
	Fields      map[string]string `json:"fields"`
	Scopes      []string          `json:"scopes,omitempty"`
}

// AppKey is a stored provider application registration.
type AppKey struct {
	Provider          string         `json:"provider"`
	AppName           string         `json:"appName"`
	ClientEnvironment string         `json:"clientEnvironment"`
	CreatedTime       string         `json:"createdTime"`
	Fields            map[string]any `json:"fields"`
}

// APIKey is a stored Leaf user api key.
type APIKey struct {
	ID          string `json:"id"`
	Key         string `json:"key"`
	LeafUserID  string `json:"leafUserId"`
	ExpiresAt   string `json:"expiresAt"`
	Description string `json:"description"`
	RevokedAt   string `json:"revokedAt,omitempty"`
	Valid       bool   `json:"valid"`
}

// EventLog is the event log of one credential.
type EventLog struct {
	CredentialID string  `json:"credentialId"`
	Events       []Event `json:"events"`
}

// Event is one credential event.
type Event struct {
	ID          string `json:"id"`
	CreatedDate string `json:"createdDate"`
	StatusCode  int    `json:"statusCode"`
	Headers     string `json:"headers"`
	Body        string `json:"body"`
}

// store is the live, indexed form of State. The Server's mutex guards it.
type store struct {
	seq     uint64
	rng     *rand.Rand
	users   map[string]*User
	order   []string            // user ids in ascending order (ids are generated in order)
	byExtID map[string][]string // externalId -> user ids
	apps    map[string]*AppKey  // appKeyID -> app
	apiKeys map[string]*APIKey
	events  map[string][]Event // credential id -> events
	// defaultConfig is the API owner's configuration.
	defaultConfig map[string]any
}

func newStore(seed uint64) *store {
	return &store{
		rng:           rand.New(rand.NewPCG(seed, seed^0x5eed)),
		users:         map[string]*User{},
		byExtID:       map[string][]string{},
		apps:          map[string]*AppKey{},
		apiKeys:       map[string]*APIKey{},
		events:        map[string][]Event{},
		defaultConfig: initialConfig(),
	}
}

// newID returns a UUID-shaped id whose first group is a sequence number, so that ids sort in
// creation order and "sort=id,asc" paging is an append-only walk.
func (s *store) newID() string {
	s.seq++
	r := s.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", s.seq, r&0xffff, (r>>16)&0xfff, (r>>28)&0xfff, s.rng.Uint64()&0xffffffffffff)
}

func (s *store) secret(prefix string) string {
	return fmt.Sprintf("%s-%016x%016x", prefix, s.rng.Uint64(), s.rng.Uint64())
}

func (s *store) addUser(u *User) {
	s.users[u.ID] = u
	i, _ := slices.BinarySearch(s.order, u.ID)
	s.order = slices.Insert(s.order, i, u.ID)
	if u.ExternalID != "" {
		s.byExtID[u.ExternalID] = append(s.byExtID[u.ExternalID], u.ID)
	}
}

func (s *store) removeUser(id string) {
	u, ok := s.users[id]
	if !ok {
		return
	}
	s.setExternalID(u, "")
	for _, c := range u.Credentials {
		delete(s.events, c.ID)
	}
	for k, ak := range s.apiKeys {
		if ak.LeafUserID == id {
			delete(s.apiKeys, k)
		}
	}
	delete(s.users, id)
	if i, found := slices.BinarySearch(s.order, id); found {
		s.order = slices.Delete(s.order, i, i+1)
	}
}

func (s *store) setExternalID(u *User, ext string) {
	if u.ExternalID == ext {
		return
	}
	if old := u.ExternalID; old != "" {
		ids := slices.DeleteFunc(s.byExtID[old], func(id string) bool { return id == u.ID })
		if len(ids) == 0 {
			delete(s.byExtID, old)
		} else {
			s.byExtID[old] = ids
		}
	}
	u.ExternalID = ext
	if ext != "" {
		s.byExtID[ext] = append(s.byExtID[ext], u.ID)
	}
}

func (s *store) addEvent(credID string, status int, body string, now time.Time) {
	s.events[credID] = append(s.events[credID], Event{
		ID: s.newID(), CreatedDate: leafTime(now), StatusCode: status, Headers: "{}", Body: body,
	})
}

func appKeyID(provider, appName, env string) string { return provider + "/" + appName + "/" + env }

// snapshot copies the store into a State document.
func (s *store) snapshot() *State {
	st := &State{Version: StateVersion, Seq: s.seq, Users: []*User{}, AppKeys: []*AppKey{}, APIKeys: []*APIKey{},
		DefaultConfig: maps.Clone(s.defaultConfig)}
	for _, id := range s.order {
		st.Users = append(st.Users, cloneUser(s.users[id]))
	}
	for _, a := range s.apps {
		c := *a
		st.AppKeys = append(st.AppKeys, &c)
	}
	sort.Slice(st.AppKeys, func(i, j int) bool {
		return appKeyID(st.AppKeys[i].Provider, st.AppKeys[i].AppName, st.AppKeys[i].ClientEnvironment) <
			appKeyID(st.AppKeys[j].Provider, st.AppKeys[j].AppName, st.AppKeys[j].ClientEnvironment)
	})
	for _, k := range s.apiKeys {
		c := *k
		st.APIKeys = append(st.APIKeys, &c)
	}
	sort.Slice(st.APIKeys, func(i, j int) bool { return st.APIKeys[i].ID < st.APIKeys[j].ID })
	for id, evs := range s.events {
		st.Events = append(st.Events, &EventLog{CredentialID: id, Events: slices.Clone(evs)})
	}
	sort.Slice(st.Events, func(i, j int) bool { return st.Events[i].CredentialID < st.Events[j].CredentialID })
	return st
}

// load replaces the store's content with st.
func (s *store) load(st *State) error {
	if st.Version != 0 && st.Version != StateVersion {
		return fmt.Errorf("sandbox state: unsupported version %d", st.Version)
	}
	fresh := newStore(st.Seq + 1)
	fresh.seq = st.Seq
	for _, u := range st.Users {
		if u.ID == "" {
			return fmt.Errorf("sandbox state: a user without id")
		}
		u = cloneUser(u)
		for name := range u.Credentials {
			if _, ok := leaf.LookupProvider(name); !ok {
				return fmt.Errorf("sandbox state: user %s: unknown provider %q", u.ID, name)
			}
		}
		if u.Config != nil {
			if err := checkConfig(u.Config); err != nil {
				return fmt.Errorf("sandbox state: user %s: config: %w", u.ID, err)
			}
		}
		fresh.addUser(u)
	}
	for _, a := range st.AppKeys {
		c := *a
		fresh.apps[appKeyID(c.Provider, c.AppName, c.ClientEnvironment)] = &c
	}
	for _, k := range st.APIKeys {
		c := *k
		fresh.apiKeys[c.ID] = &c
	}
	for _, l := range st.Events {
		fresh.events[l.CredentialID] = slices.Clone(l.Events)
	}
	if st.DefaultConfig != nil {
		if err := checkConfig(st.DefaultConfig); err != nil {
			return fmt.Errorf("sandbox state: defaultConfig: %w", err)
		}
		fresh.defaultConfig = maps.Clone(st.DefaultConfig)
	}
	*s = *fresh
	return nil
}

func cloneUser(u *User) *User {
	c := *u
	c.Credentials = make(map[string]*Credential, len(u.Credentials))
	for k, v := range u.Credentials {
		cc := *v
		cc.Fields = make(map[string]string, len(v.Fields))
		for fk, fv := range v.Fields {
			cc.Fields[fk] = fv
		}
		cc.Scopes = slices.Clone(v.Scopes)
		c.Credentials[k] = &cc
	}
	c.Config = maps.Clone(u.Config)
	return &c
}

// leafTime formats t as Leaf's credential docs print timestamps (microseconds, literal Z).
func leafTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// MarshalState encodes a State as indented JSON.
func MarshalState(st *State) ([]byte, error) { return json.MarshalIndent(st, "", "  ") }

// UnmarshalState decodes a State document strictly (see DecodeState).
func UnmarshalState(data []byte) (*State, error) { return DecodeState(bytes.NewReader(data)) }

// DecodeState decodes a State document strictly: a JSON object with known
// fields only, its version, a users list (empty for an empty state, never null or absent) and no
// null entries, so that a malformed PUT /__sandbox/state is refused rather than taken for an
// empty state (which would wipe the sandbox).
func DecodeState(r io.Reader) (*State, error) {
	br := bufio.NewReader(r)
	for {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("sandbox state: want a JSON object")
		} else if err != nil {
			return nil, fmt.Errorf("sandbox state: %w", err)
		}
		if b == ' ' || b == '\t' || b == '\n' || b == '\r' {
			continue
		}
		if b != '{' {
			return nil, fmt.Errorf("sandbox state: want a JSON object")
		}
		_ = br.UnreadByte()
		break
	}
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	var st State
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("sandbox state: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("sandbox state: data after the object")
	}
	if st.Version != StateVersion {
		return nil, fmt.Errorf("sandbox state: version must be %d (the format this sandbox writes), not %d", StateVersion, st.Version)
	}
	if st.Users == nil {
		return nil, fmt.Errorf("sandbox state: users is missing or null; an empty state has \"users\": [] (POST /__sandbox/reset empties the sandbox)")
	}
	for i, u := range st.Users {
		if u == nil {
			return nil, fmt.Errorf("sandbox state: users[%d] is null", i)
		}
		for name, c := range u.Credentials {
			if c == nil {
				return nil, fmt.Errorf("sandbox state: user %s: credential %s is null", u.ID, name)
			}
		}
	}
	for i, a := range st.AppKeys {
		if a == nil {
			return nil, fmt.Errorf("sandbox state: appKeys[%d] is null", i)
		}
	}
	for i, k := range st.APIKeys {
		if k == nil {
			return nil, fmt.Errorf("sandbox state: apiKeys[%d] is null", i)
		}
	}
	for i, l := range st.Events {
		if l == nil {
			return nil, fmt.Errorf("sandbox state: events[%d] is null", i)
		}
	}
	return &st, nil
}
