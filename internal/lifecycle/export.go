package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
)

// ExportOptions configure Export.
type ExportOptions struct {
	Options
	// Dir receives manifest.yaml (and growers.csv, secrets/, not-exported.txt).
	Dir         string
	Format      manifest.ExportFormat
	WithSecrets bool
}

// Export reads the account and writes it as a manifest in o.Dir. It reads every user (in
// pages of 100, credentials embedded, or one lookup each for a small --only), the app keys of
// every provider that has them, and the own config of each exported user (one request each,
// unless --kind leaves config out). It changes nothing in Leaf.
func Export(ctx context.Context, o ExportOptions) (*manifest.Export, error) {
	c, sel, log := o.Client, o.Diff.Selection, o.Log
	if err := c.Authenticate(ctx); err != nil {
		return nil, err
	}
	var apps []*leaf.Provider
	for _, p := range leaf.Providers() {
		if p.AppKey != nil && sel.App(p) {
			apps = append(apps, p)
		}
	}
	var snap *leaf.Snapshot
	var err error
	if sel.Only != nil && len(sel.Only) <= onlyLookups {
		snap, err = readSelected(ctx, c, sel, apps)
	} else {
		snap, err = c.Snapshot(ctx, apps)
	}
	if err != nil {
		return nil, fmt.Errorf("reading Leaf state: %w", err)
	}
	log.Info("read Leaf state", "users", len(snap.Users), "requests", snap.Requests)
	configs, err := exportConfigs(ctx, c, snap, sel, log)
	if err != nil {
		return nil, err
	}
	e, err := manifest.BuildExport(manifest.ExportInput{Users: snap.Users, AppKeys: snap.AppKeys, Configs: configs,
		Selection: sel, WithSecrets: o.WithSecrets, Format: o.Format,
		Origin: c.BaseURL() + ", API owner " + orUnknown(o.Account.Owner)})
	if err != nil {
		return nil, err
	}
	return e, writeExport(o.Dir, e)
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// exportConfigs reads the own config of the users an export names: those with an externalId
// no other user carries.
func exportConfigs(ctx context.Context, c *leaf.Client, snap *leaf.Snapshot, sel plan.Selection, log *slog.Logger) (map[string]leaf.UserConfig, error) {
	if !sel.Kind(plan.KindConfig) {
		return map[string]leaf.UserConfig{}, nil
	}
	count := map[string]int{}
	for _, u := range snap.Users {
		count[u.ExternalID]++
	}
	var ids []string
	for _, u := range snap.Users {
		if u.ExternalID != "" && count[u.ExternalID] == 1 && sel.Grower(u.ExternalID) && !manifest.IsProbe(u.ExternalID) {
			ids = append(ids, u.ID)
		}
	}
	log.Info("reading the growers' config", "users", len(ids))
	return userConfigs(ctx, c, ids)
}

// writeExport writes the files of an export: secrets 0600 in 0700 directories, the rest
// 0644. A not-exported.txt left by an earlier export is removed when everything was written.
func writeExport(dir string, e *manifest.Export) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	secret := map[string]bool{}
	for _, p := range e.Secret {
		secret[p] = true
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if len(e.NotExported) > 0 {
		e.Files[manifest.ExportNotExported] = []byte(strings.Join(e.NotExported, "\n") + "\n")
	} else if err := root.Remove(manifest.ExportNotExported); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// Secrets first: a refused path (a symbolic link in DIR) stops the export before anything
	// else is written.
	rels := slices.Sorted(maps.Keys(e.Files))
	slices.SortStableFunc(rels, func(a, b string) int { return cmpBool(secret[b], secret[a]) })
	for _, rel := range rels {
		perm, dirPerm := os.FileMode(0o644), os.FileMode(0o755)
		if secret[rel] {
			perm, dirPerm = 0o600, 0o700
		}
		if err := atomicfile.WriteIn(root, rel, e.Files[rel], perm, dirPerm); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return nil
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
