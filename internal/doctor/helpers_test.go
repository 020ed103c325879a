package doctor

import (
	"log/slog"
	"testing"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// options are the run options against sandbox ts in the workspaces under root (one root for
// every run of a test: the account's history carries over).
func options(t *testing.T, ts *sandbox.TestServer, root string) lifecycle.Options {
	t.Helper()
	return lifecycle.Options{Client: ts.Client(t), Account: workspace.Account{URL: leaf.CanonicalURL(ts.URL), Owner: "sandbox"},
		StateRoot: root, Tool: "leaf-import test", Log: slog.New(slog.DiscardHandler)}
}

// probes lists the probe users the sandbox holds, whatever its lists show.
func probes(ts *sandbox.TestServer) []string {
	var out []string
	for _, u := range ts.State().Users {
		if manifest.IsProbe(u.ExternalID) {
			out = append(out, u.ID)
		}
	}
	return out
}
