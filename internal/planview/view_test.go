package planview

import (
	"bytes"
	"encoding/json"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/jsonstream"
	"github.com/leaf-import/leaf-import/internal/leaf"
)

// A plan's JSON, shown or saved, is written in one pass over its changes, with the summary after
// them: the bytes are still those of encoding the whole View, and a saved plan reads back whole.
func TestRenderJSONIsTheWholeViewInOnePass(t *testing.T) {
	m, ps := manifest.Parse("m.yaml", strings.NewReader("version: 1\ngrowers:\n  - externalId: g1\n    name: \"Jané <&>\"\n"+jdConn+
		"  - externalId: g2\n  - externalId: g3\n    name: Other\n"), mapSource{})
	require.Empty(t, ps, ps.Error())
	users := []leaf.User{{ID: "u2", ExternalID: "g2"}, {ID: "u3", ExternalID: "g3", Name: "Old"}, {ID: "u4", ExternalID: "g3"},
		{ID: "u9", ExternalID: "gone"}}
	lazy := func() *plan.Plan {
		return plan.Lazy(m, &leaf.Snapshot{Users: users}, plan.Options{Prune: true, Fingerprints: plan.NewFingerprinter([]byte("k"))})
	}

	var shown bytes.Buffer
	p := lazy()
	_, err := RenderJSON(p, &shown, 10)
	require.NoError(t, err)
	var changes []ChangeView
	sum, err := p.Walk(func(c *plan.Change) error { changes = append(changes, changeViewIn(c, []string{})); return nil })
	require.NoError(t, err)
	whole := ViewOf(p, sum, 10)
	whole.Changes = changes
	require.NotEmpty(t, whole.Changes)
	require.NotEmpty(t, whole.Conflicts)
	var want bytes.Buffer
	require.NoError(t, jsonstream.Encode(&want, whole, ""))
	assert.Equal(t, want.String(), shown.String())
	assert.Less(t, strings.Index(shown.String(), `"changes"`), strings.Index(shown.String(), `"summary"`))

	var shown2, saved bytes.Buffer
	p = lazy()
	meta := &View{Tool: "t", CreatedAt: "now", LeafURL: "http://leaf", ManifestDigest: "d"}
	sum2, err := RenderJSONAndSave(p, &shown2, 10, meta, &saved, nil)
	require.NoError(t, err)
	assert.Equal(t, sum, sum2, "every pass finds the same summary")
	assert.Equal(t, shown.String(), shown2.String(), "shown the same beside the saved plan")
	savedJSON := saved.Bytes()
	assert.Equal(t, len(whole.Changes), strings.Count(string(savedJSON), "\n    {\"id\":"), "a saved change is one line")
	v, err := ReadSaved(bytes.NewReader(savedJSON))
	require.NoError(t, err)
	require.Len(t, v.Changes, len(whole.Changes))
	for i, cv := range whole.Changes {
		cv.Fields, cv.FieldChanges = nil, nil // a saved plan is read back without its changes' fields
		assert.Equal(t, cv, v.Changes[i])
	}
	assert.Equal(t, whole.Summary, v.Summary)
	var js map[string]any
	require.NoError(t, json.Unmarshal(savedJSON, &js))
	assert.Equal(t, "http://leaf", js["leafUrl"])
}
