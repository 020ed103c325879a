package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

func TestConfigPlanReadsOnlyWhatTheRecordDoesNotCover(t *testing.T) {
	m, ps := load(t, "m.yaml", map[string]string{"m.yaml": `version: 1
defaults:
  config: {fieldsAutoSync: false}
growers:
  - {externalId: g1}
  - {externalId: g2}
  - {externalId: g3, config: {fieldsAutoSync: true}}
  - {externalId: g4}
`}, nil)
	require.Empty(t, ps, ps.Error())
	snap := &leaf.Snapshot{Users: []leaf.User{{ID: "u1", ExternalID: "g1"}, {ID: "u2", ExternalID: "g2"}, {ID: "u3", ExternalID: "g3"},
		{ID: "dup-a", ExternalID: "g4"}, {ID: "dup-b", ExternalID: "g4"}}}
	off := cfg("fieldsAutoSync", "false").Digest()
	applied := map[string]string{"u1": off, "u2": "stale", "u3": off}
	assert.Equal(t, []string{"u2", "u3"}, ConfigReads(m, snap, Options{ConfigApplied: applied}),
		"g1 matches its record; g2's record is stale, g3's config changed; g4 is a conflict")
	assert.Equal(t, []string{"u1", "u2", "u3"}, ConfigReads(m, snap, Options{ConfigApplied: applied, RefreshConfig: true}))

	snap.Configs = map[string]leaf.UserConfig{
		"u2": {Exists: true, Config: cfg("fieldsAutoSync", "false", "zonesAutoSync", "true")},
		"u3": {Exists: false},
	}
	p := Diff(m, snap, Options{ConfigApplied: applied})
	var ids []string
	for _, c := range p.Changes {
		ids = append(ids, c.ID+" "+string(c.Action))
	}
	assert.Equal(t, []string{"config:g3 create"}, ids)
	sum, err := p.Summarize()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"u2": off}, sum.ConfigVerified, "a read that matches is recorded")
	assert.Equal(t, 2, sum.ByKind[KindConfig].Noop)
}

// cfg builds a Config from name, value pairs (in name order).
func cfg(kv ...string) leaf.Config {
	var c leaf.Config
	for i := 0; i+1 < len(kv); i += 2 {
		c = c.With(kv[i], kv[i+1])
	}
	return c
}
