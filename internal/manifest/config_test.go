package manifest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

func TestConfigMergesDefaultsUnderGrowers(t *testing.T) {
	m, ps := load(t, "m.yaml", map[string]string{"m.yaml": `version: 1
defaults:
  config: {fieldsAutoSync: false, operationsAutoSync: "FALSE", fieldsAttachIntersection: 0.010}
growers:
  - externalId: g1
    config: {operationsAutoSync: true, geoimagesShape: ROUND}
  - externalId: g2
growersCsv: more.csv
`, "more.csv": "externalId,provider,Config.FieldsAutoSync\ng3,,TRUE\ng4,,\n"}, nil)
	require.Empty(t, ps, ps.Error())
	want := map[string]leaf.Config{
		"g1": cfg("fieldsAttachIntersection", "0.01", "fieldsAutoSync", "false", "geoimagesShape", "ROUND", "operationsAutoSync", "true"),
		"g2": cfg("fieldsAttachIntersection", "0.01", "fieldsAutoSync", "false", "operationsAutoSync", "false"),
		"g3": cfg("fieldsAttachIntersection", "0.01", "fieldsAutoSync", "true", "operationsAutoSync", "false"),
		"g4": cfg("fieldsAttachIntersection", "0.01", "fieldsAutoSync", "false", "operationsAutoSync", "false"),
	}
	require.Len(t, m.Growers, 4)
	for _, g := range m.Growers {
		assert.Equal(t, want[g.ExternalID], g.Config, g.ExternalID)
	}
}

func TestConfigProblemsNameFileLineAndField(t *testing.T) {
	_, ps := load(t, "m.yaml", map[string]string{"m.yaml": `version: 1
defaults:
  config: {fieldsAutoSynk: false}
growers:
  - externalId: g1
    config:
      operationsAutoSync: maybe
      geoimagesShape: TRIANGLE
      fieldsAttachIntersection: "${X}"
      machinesAutoSync: [true]
growersCsv: more.csv
`, "more.csv": "externalId,provider,config.zonesAutoSync,config.nope\n"}, nil)
	wantProblem(t, ps, "m.yaml", 3, "defaults.config.fieldsAutoSynk", "did you mean fieldsAutoSync?")
	wantProblem(t, ps, "m.yaml", 7, "growers[0].config.operationsAutoSync", `takes true or false, not "maybe"`)
	wantProblem(t, ps, "m.yaml", 8, "growers[0].config.geoimagesShape", "takes one of ROUND, SQUARE")
	wantProblem(t, ps, "m.yaml", 9, "growers[0].config.fieldsAttachIntersection", "not a reference")
	wantProblem(t, ps, "m.yaml", 10, "growers[0].config.machinesAutoSync", "not a list")
	wantProblem(t, ps, "more.csv", 1, "config.nope", "unknown config flag")

	_, ps = load(t, "g.csv", map[string]string{"g.csv": "externalId,provider,config.fieldsAutoSync\ng1,,true\ng1,AgLeader,false\n"}, nil)
	wantProblem(t, ps, "g.csv", 3, "config.fieldsAutoSync", "conflicting config.fieldsAutoSync")
}

// cfg is a config of flag, value pairs.
func cfg(kv ...string) leaf.Config {
	var c leaf.Config
	for i := 0; i+1 < len(kv); i += 2 {
		c = c.With(kv[i], kv[i+1])
	}
	return c
}
