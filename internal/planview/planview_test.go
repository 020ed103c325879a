package planview

import (
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/plan"
)

func TestFormatting(t *testing.T) {
	assert.Equal(t, "1,204", thousands(1204))
	assert.Equal(t, "1,000,000", thousands(1000000))
	assert.Equal(t, "999", thousands(999))
	assert.Equal(t, "35s", humanDuration(35))
	assert.Equal(t, "4m", humanDuration(241))
	assert.Equal(t, "2h10m", humanDuration(2*3600+600))
}

func TestCompareSaved(t *testing.T) {
	fresh := &plan.Plan{Changes: []*plan.Change{
		{ID: "user:a", Action: plan.ActionUpdate, Base: "b1"},
		{ID: "user:b", Action: plan.ActionCreate, Base: "absent"},
		{ID: "credential:c/JohnDeere", Action: plan.ActionReplace, Base: "new-base"},
		{ID: "user:extra", Action: plan.ActionCreate, Base: "absent"},
	}}
	saved := &View{Changes: []ChangeView{
		{ID: "user:a", Action: "update", Base: "b1"},
		{ID: "user:b", Action: "create", Base: "absent"},
		{ID: "credential:c/JohnDeere", Action: "replace", Base: "old-base"},
		{ID: "user:gone", Action: "update", Base: "x"},
		{ID: "user:b2", Action: "update", Base: "x"},
	}}
	fresh.Changes = append(fresh.Changes, &plan.Change{ID: "user:b2", Action: plan.ActionCreate})
	s := saved.CompareSaved(fresh)
	var apply []string
	for c := range fresh.Only(s.Keep).All() {
		apply = append(apply, c.ID)
	}
	assert.Equal(t, []string{"user:a", "user:b"}, apply)
	assert.Equal(t, 2, s.Applied)
	require.Len(t, s.Stale, 3)
	assert.Equal(t, "credential:c/JohnDeere", s.Stale[0].Saved.ID)
	assert.Contains(t, s.Stale[0].Why, "changed since the plan was made")
	assert.Contains(t, s.Stale[1].Why, "now a create")
	assert.Contains(t, s.Stale[2].Why, "no longer needed")
	assert.Equal(t, []string{"user:extra"}, s.Extra)

	v := &View{LeafURL: "https://a", Account: "me", ManifestDigest: "sha256:1"}
	assert.NoError(t, v.CheckTarget("https://a", "me", "sha256:1"))
	assert.Error(t, v.CheckTarget("https://b", "me", "sha256:1"))
	assert.Error(t, v.CheckTarget("https://a", "you", "sha256:1"))
	assert.Error(t, v.CheckTarget("https://a", "me", "sha256:2"))
}

// jdConn is a grower's John Deere connection, as a manifest writes it.
const jdConn = `    connections:
      JohnDeere: {refreshToken: t1, clientKey: k, clientSecret: s, clientEnvironment: PRODUCTION}
`

// mapSource is a manifest.Source with no environment and no files.
type mapSource struct{}

func (mapSource) Getenv(string) (string, bool)       { return "", false }
func (mapSource) Open(string) (io.ReadCloser, error) { return nil, os.ErrNotExist }
