package leaf

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// AppKey is a provider application registration as Leaf returns it (secrets are never
// returned; docs/leaf-api.md §5.2).
type AppKey struct {
	Provider          string `json:"provider"`
	AppName           string `json:"appName"`
	ClientEnvironment string `json:"clientEnvironment"`
	CreatedTime       string `json:"createdTime"`
}

// errNoAppKeys is returned for a provider without Leaf Link app registrations.
var errNoAppKeys = errors.New("leaf: provider has no app keys")

func appKeysPath(p *Provider) (string, error) {
	if p.AppKey == nil {
		return "", errNoAppKeys
	}
	return UserManagementPath + "/app-keys/" + p.AppKey.Segment, nil
}

// appKeyPath is /app-keys/{P}/{appName}[/{env}]; env is ignored for providers whose path has no
// environment segment.
func appKeyPath(p *Provider, appName, env string) (string, error) {
	base, err := appKeysPath(p)
	if err != nil {
		return "", err
	}
	path := base + "/" + url.PathEscape(appName)
	if p.AppKey.WithEnvironment {
		if env == "" {
			return "", errors.New("leaf: " + p.Name + " app keys need a clientEnvironment")
		}
		path += "/" + url.PathEscape(env)
	}
	return path, nil
}

// appKeyBody encodes the body fields; list fields (scopes) travel as comma-separated values in
// Fields and as arrays on the wire.
func appKeyBody(p *Provider, fields Fields) (map[string]any, []string) {
	body := make(map[string]any, len(fields))
	var secrets []string
	for _, f := range fields {
		v := f.Value.Reveal()
		if p.AppKey.IsList(f.Name) {
			var items []string
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
			body[f.Name] = items
			continue
		}
		body[f.Name] = v
		secrets = append(secrets, v)
	}
	return body, secrets
}

// ListAppKeys reads every app registration of provider p (GET /app-keys/{P}).
func (c *Client) ListAppKeys(ctx context.Context, p *Provider) ([]AppKey, error) {
	path, err := appKeysPath(p)
	if err != nil {
		return nil, err
	}
	var out []AppKey
	_, err = c.do(ctx, &request{method: http.MethodGet, path: path}, &out)
	return out, err
}

// GetAppKey reads one app registration.
func (c *Client) GetAppKey(ctx context.Context, p *Provider, appName, env string) (*AppKey, error) {
	path, err := appKeyPath(p, appName, env)
	if err != nil {
		return nil, err
	}
	var out AppKey
	if _, err := c.do(ctx, &request{method: http.MethodGet, path: path}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateAppKey registers an app (POST). Not idempotent: on an AmbiguousError, GetAppKey first.
func (c *Client) CreateAppKey(ctx context.Context, p *Provider, appName, env string, fields Fields) error {
	return c.writeAppKey(ctx, http.MethodPost, p, appName, env, fields)
}

// UpdateAppKey replaces an app registration's secrets (PUT).
func (c *Client) UpdateAppKey(ctx context.Context, p *Provider, appName, env string, fields Fields) error {
	return c.writeAppKey(ctx, http.MethodPut, p, appName, env, fields)
}

func (c *Client) writeAppKey(ctx context.Context, method string, p *Provider, appName, env string, fields Fields) error {
	path, err := appKeyPath(p, appName, env)
	if err != nil {
		return err
	}
	if f := fields.KeptField(); f != "" {
		return &KeptError{Field: f}
	}
	body, secrets := appKeyBody(p, fields)
	_, err = c.do(ctx, &request{method: method, path: path, body: body, secrets: secrets}, nil)
	return err
}

// DeleteAppKey removes an app registration.
func (c *Client) DeleteAppKey(ctx context.Context, p *Provider, appName, env string) error {
	path, err := appKeyPath(p, appName, env)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &request{method: http.MethodDelete, path: path}, nil)
	return err
}
