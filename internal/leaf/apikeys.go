package leaf

import (
	"context"
	"net/http"
	"net/url"
)

// APIKey is a Leaf user's widget key (docs/leaf-api.md §5.1). Key is a Secret.
type APIKey struct {
	ID          string `json:"id"`
	Key         Secret `json:"-"`
	LeafUserID  string `json:"leafUserId"`
	ExpiresAt   string `json:"expiresAt"`
	Description string `json:"description"`
	RevokedAt   string `json:"revokedAt,omitempty"`
	Valid       bool   `json:"valid"`
}

type apiKeyWire struct {
	ID          string `json:"id"`
	Key         string `json:"key"`
	LeafUserID  string `json:"leafUserId"`
	ExpiresAt   string `json:"expiresAt"`
	Description string `json:"description"`
	RevokedAt   string `json:"revokedAt"`
	Valid       bool   `json:"valid"`
}

func (w apiKeyWire) key() APIKey {
	return APIKey{ID: w.ID, Key: Secret(w.Key), LeafUserID: w.LeafUserID, ExpiresAt: w.ExpiresAt,
		Description: w.Description, RevokedAt: w.RevokedAt, Valid: w.Valid}
}

// MinAPIKeyExpiry is the smallest expiresIn Leaf accepts, in seconds.
const MinAPIKeyExpiry = 900

// ListAPIKeys reads a user's api keys (GET /api-keys?leafUserId=).
func (c *Client) ListAPIKeys(ctx context.Context, leafUserID string) ([]APIKey, error) {
	var wire []apiKeyWire
	if _, err := c.do(ctx, &request{method: http.MethodGet, path: UserManagementPath + "/api-keys",
		query: url.Values{"leafUserId": {leafUserID}}}, &wire); err != nil {
		return nil, err
	}
	out := make([]APIKey, len(wire))
	for i, w := range wire {
		out[i] = w.key()
	}
	return out, nil
}

// CreateAPIKey creates a key for a user; expiresIn is in seconds (0: Leaf's default of a year).
func (c *Client) CreateAPIKey(ctx context.Context, leafUserID string, expiresIn int, description string) (*APIKey, error) {
	body := map[string]any{"leafUserId": leafUserID, "description": description}
	if expiresIn > 0 {
		body["expiresIn"] = expiresIn
	}
	var w apiKeyWire
	if _, err := c.do(ctx, &request{method: http.MethodPost, path: UserManagementPath + "/api-keys", body: body}, &w); err != nil {
		return nil, err
	}
	k := w.key()
	if k.LeafUserID == "" {
		k.LeafUserID = leafUserID
	}
	return &k, nil
}

// RevokeAPIKey revokes a key (DELETE /api-keys/{id}); Leaf keeps it listed as invalid.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) error {
	_, err := c.do(ctx, &request{method: http.MethodDelete, path: UserManagementPath + "/api-keys/" + url.PathEscape(id)}, nil)
	return err
}
