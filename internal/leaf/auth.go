package leaf

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Authenticate makes sure the client holds a token: it logs in with the configured username
// and password (POST /api/authenticate, docs/leaf-api.md §1.1) unless it already has a token. With a
// static token and no login it checks nothing.
func (c *Client) Authenticate(ctx context.Context) error { return c.ensureToken(ctx) }

// ensureToken logs in before the first request when there is no token yet.
func (c *Client) ensureToken(ctx context.Context) error {
	gen, tok := c.currentToken()
	if tok != "" {
		return nil
	}
	if !c.HasLogin() {
		return &AuthError{Err: errNoCredentials}
	}
	return c.reauthenticate(ctx, gen)
}

func (c *Client) currentToken() (uint64, Secret) {
	c.tokenMu.RLock()
	defer c.tokenMu.RUnlock()
	return c.tokenGen, c.token
}

// reauthenticate replaces the token unless another caller already replaced the one of
// generation seen: concurrent 401s cost one authentication, not one each.
func (c *Client) reauthenticate(ctx context.Context, seen uint64) error {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	gen, tok := c.currentToken()
	if gen != seen && tok != "" {
		return nil
	}
	if tok != "" {
		// One line per expiry: the workers that met the same 401 wait above and log nothing.
		c.logger.Info("Leaf refused the token (401: expired or revoked); authenticating again")
	}
	var out struct {
		IDToken string `json:"id_token"`
	}
	_, err := c.do(ctx, &request{
		method: http.MethodPost, path: AuthenticatePath,
		body: map[string]any{
			"username": c.username, "password": c.password.Reveal(), "rememberMe": "true",
		},
		secrets: []string{c.password.Reveal()},
		safe:    true, noAuth: true,
	}, &out)
	c.stats.auths.Add(1)
	if err != nil {
		var api *APIError
		switch {
		case errors.As(err, &api) && (api.StatusCode == http.StatusNotFound || api.StatusCode == http.StatusMethodNotAllowed):
			return &URLError{URL: strings.TrimSuffix(c.BaseURL(), "/") + AuthenticatePath, Status: api.StatusCode}
		case errors.As(err, &api) && api.StatusCode >= 400 && api.StatusCode < 500:
			return &AuthError{Err: err}
		}
		return err
	}
	if out.IDToken == "" {
		return &AuthError{Err: errors.New("leaf: authenticate answered without id_token")}
	}
	c.tokenMu.Lock()
	c.token = Secret(out.IDToken)
	c.tokenGen++
	c.tokenMu.Unlock()
	return nil
}

// Subject is the subject claim of the client's current token ("" before authentication, or
// for a token that is not a JWT).
func (c *Client) Subject() string {
	_, tok := c.currentToken()
	return TokenSubject(tok.Reveal())
}

// TokenSubject returns the "sub" claim of a JWT without verifying it ("" when tok is not a JWT
// or has none). It only names the API owner, to find the account's workspace; nothing is
// trusted from it.
func TokenSubject(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	return claims.Sub
}
