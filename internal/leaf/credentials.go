package leaf

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Credential is a provider credential attached to a Leaf user (docs/leaf-api.md §3).
type Credential struct {
	Provider    *Provider
	ID          string
	Status      string
	CreatedTime string
	// Fields holds every string property Leaf returned besides id, status and createdTime:
	// identity fields, echoed secrets and tokens.
	Fields Fields
}

// Healthy reports whether Leaf considers the credential working: status OK, in any case
// (docs/leaf-api.md U9).
func (c *Credential) Healthy() bool { return strings.EqualFold(c.Status, "OK") }

// decodeCredential decodes one credential object; nil for null, {} or an object without id.
func decodeCredential(p *Provider, data json.RawMessage) (*Credential, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, JSONErrorWithoutInput(err)
	}
	c := &Credential{Provider: p}
	m := make(map[string]string, len(raw))
	for k, v := range raw {
		switch k {
		case "id":
			c.ID = jsonString(v)
		case "status":
			c.Status = jsonString(v)
		case "createdTime":
			c.CreatedTime = jsonString(v)
		default:
			if len(v) > 0 && v[0] == '"' {
				m[k] = jsonString(v)
			}
		}
	}
	if c.ID == "" {
		return nil, nil
	}
	c.Fields = FieldsFromMap(m)
	return c, nil
}

func credentialPath(userID string, p *Provider) string {
	return userPath(userID) + "/" + p.CredentialPath
}

// GetCredential reads a user's credential of provider p (GET /users/{id}/{credential-path}).
// A 404, or an answer without an id, is reported as a 404 APIError (see IsNotFound).
func (c *Client) GetCredential(ctx context.Context, userID string, p *Provider) (*Credential, error) {
	var raw json.RawMessage
	path := credentialPath(userID, p)
	if _, err := c.do(ctx, &request{method: http.MethodGet, path: path}, &raw); err != nil {
		return nil, err
	}
	cr, err := decodeCredential(p, raw)
	if err != nil {
		return nil, err
	}
	if cr == nil {
		return nil, &APIError{Method: http.MethodGet, Path: path, StatusCode: http.StatusNotFound, Title: "no credential"}
	}
	return cr, nil
}

// CreateCredential attaches a credential of provider p to a user
// (POST /users/{id}/{credential-path}). It is not idempotent: on an AmbiguousError, or a 409,
// read the credential before sending it again.
func (c *Client) CreateCredential(ctx context.Context, userID string, p *Provider, fields Fields) (*Credential, error) {
	if f := fields.KeptField(); f != "" {
		return nil, &KeptError{Field: f}
	}
	var raw json.RawMessage
	secrets := make([]string, 0, len(fields))
	for _, f := range fields {
		secrets = append(secrets, f.Value.Reveal())
	}
	if _, err := c.do(ctx, &request{
		method: http.MethodPost, path: credentialPath(userID, p), body: fields.revealMap(), secrets: secrets,
	}, &raw); err != nil {
		return nil, err
	}
	cr, err := decodeCredential(p, raw)
	if err != nil || cr == nil {
		// Leaf accepted it but answered without the object: read it back.
		return c.GetCredential(ctx, userID, p)
	}
	return cr, nil
}

// DeleteCredential removes a user's credential of provider p. Its event log goes with it.
func (c *Client) DeleteCredential(ctx context.Context, userID string, p *Provider) error {
	_, err := c.do(ctx, &request{method: http.MethodDelete, path: credentialPath(userID, p)}, nil)
	return err
}

// Event is one entry of a credential's event log (docs/leaf-api.md §3.5). Headers and Body are the
// logged provider call and may hold tokens, so they are Secrets.
type Event struct {
	ID          string `json:"id"`
	CreatedDate string `json:"createdDate"`
	StatusCode  int    `json:"statusCode"`
	Headers     Secret `json:"-"`
	Body        Secret `json:"-"`
}

// UnmarshalJSON decodes an event, keeping headers and body as Secrets.
func (e *Event) UnmarshalJSON(data []byte) error {
	var raw struct {
		ID          string          `json:"id"`
		CreatedDate string          `json:"createdDate"`
		StatusCode  json.RawMessage `json:"statusCode"`
		Headers     string          `json:"headers"`
		Body        string          `json:"body"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*e = Event{ID: raw.ID, CreatedDate: raw.CreatedDate, Headers: Secret(raw.Headers), Body: Secret(raw.Body)}
	e.StatusCode, _ = strconv.Atoi(strings.Trim(string(raw.StatusCode), `"`))
	return nil
}

// LatestCredentialEvents reads the newest n events of a credential's log: one request.
func (c *Client) LatestCredentialEvents(ctx context.Context, userID string, p *Provider, n int) ([]Event, error) {
	q := url.Values{"size": {strconv.Itoa(n)}, "sort": {"createdDate,desc"}, "page": {"0"}}
	var evs []Event
	_, err := c.do(ctx, &request{method: http.MethodGet, path: credentialPath(userID, p) + "/events", query: q}, &evs)
	return evs, err
}

// eventsPageSize is the page size for event listings.
const eventsPageSize = 100

// ListCredentialEvents reads a credential's whole event log, newest first, page by page.
func (c *Client) ListCredentialEvents(ctx context.Context, userID string, p *Provider) ([]Event, error) {
	var all []Event
	q := url.Values{"size": {strconv.Itoa(eventsPageSize)}, "sort": {"createdDate,desc"}}
	for page := 0; ; page++ {
		q.Set("page", strconv.Itoa(page))
		var evs []Event
		resp, err := c.do(ctx, &request{method: http.MethodGet, path: credentialPath(userID, p) + "/events", query: q}, &evs)
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
		total, terr := strconv.Atoi(resp.header.Get("X-Total-Count"))
		if len(evs) < eventsPageSize || (terr == nil && (page+1)*eventsPageSize >= total) {
			return all, nil
		}
	}
}
