package lifecycle

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// options are the common options of a run against sandbox ts, in a workspace of its own (the
// same root for every run of one test: the account's history carries over).
func options(t *testing.T, ts *sandbox.TestServer, root string) Options {
	t.Helper()
	return Options{Client: ts.Client(t), Account: workspace.Account{URL: leaf.CanonicalURL(ts.URL), Owner: "sandbox"}, StateRoot: root,
		Tool: "leaf-import test", Log: slog.New(slog.DiscardHandler)}
}

// manifestOf parses a manifest body (the version line is written here).
func manifestOf(t *testing.T, body string) *manifest.Manifest {
	t.Helper()
	m, ps := manifest.Parse("m.yaml", strings.NewReader("version: 1\n"+body), noFiles{})
	require.Empty(t, ps, ps.Error())
	return m
}

type noFiles struct{}

func (noFiles) Getenv(string) (string, bool)       { return "", false }
func (noFiles) Open(string) (io.ReadCloser, error) { return nil, os.ErrNotExist }

// keysOf returns the keys leaf-import issued to a Leaf user, as Leaf lists them.
func keysOf(t *testing.T, c *leaf.Client, userID string) (valid, revoked []leaf.APIKey) {
	t.Helper()
	keys, err := c.ListAPIKeys(t.Context(), userID)
	require.NoError(t, err)
	for _, k := range keys {
		switch {
		case !strings.HasPrefix(k.Description, LabelPrefix):
		case k.Valid && k.RevokedAt == "":
			valid = append(valid, k)
		default:
			revoked = append(revoked, k)
		}
	}
	return valid, revoked
}
