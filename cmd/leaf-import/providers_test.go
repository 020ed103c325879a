package main

import (
	"encoding/json"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

func TestProvidersText(t *testing.T) {
	code, out, _ := runCLI(t, nil, "providers")
	require.Equal(t, 0, code)
	for _, p := range leaf.Providers() {
		assert.Contains(t, out, p.Name)
		assert.Contains(t, out, p.CredentialPath)
	}
	assert.Contains(t, out, "/app-keys/CNHI/{appName}/{clientEnvironment}")
	assert.Contains(t, out, "optional (STAGE)")
}

func TestProvidersJSON(t *testing.T) {
	code, out, _ := runCLI(t, nil, "providers", "--format", "json")
	require.Equal(t, 0, code)
	var got []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, len(leaf.Providers()))
	byName := map[string]map[string]any{}
	for _, p := range got {
		for _, k := range []string{"name", "credentialPath", "userField", "requiredFields", "secretFields",
			"rotatingFields", "identityFields", "environment", "appKey"} {
			assert.Contains(t, p, k, "provider %v", p["name"])
		}
		byName[p["name"].(string)] = p
	}
	assert.Equal(t, "john-deere-credentials", byName["JohnDeere"]["credentialPath"])
	assert.Equal(t, "required", byName["CNHI"]["environment"])
	assert.Equal(t, "optional", byName["CLAAS"]["environment"])
	assert.Nil(t, byName["Valley"]["appKey"])
	app := byName["JohnDeere"]["appKey"].(map[string]any)
	assert.Equal(t, "/app-keys/JohnDeere/{appName}/{clientEnvironment}", app["path"])
	assert.Contains(t, byName["Agrimatics"]["requiredFields"], "accessToken")
}

func TestProvidersConfigFlags(t *testing.T) {
	code, out, _ := runCLI(t, nil, "providers", "--config")
	require.Equal(t, 0, code)
	assert.Regexp(t, `fieldsAutoSync\s+boolean`, out)
	assert.Regexp(t, `geoimagesShape\s+string \(ROUND, SQUARE\)`, out)
	code, out, _ = runCLI(t, nil, "providers", "--config", "--format", "json")
	require.Equal(t, 0, code)
	var got []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Len(t, got, len(leaf.ConfigFlags))
}

// Every mode flag takes one of its values only: anything else is refused as the flags are
// parsed, with exit 1 and the values the flag takes, before anything is read or sent.
func TestModeFlagsRefuseUnknownValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"providers", "--format", "xml"}, "must be text, json"},
		{[]string{"validate", "m.yaml", "--format", "csv"}, "must be text, json"},
		{[]string{"plan", "m.yaml", "--format", "html"}, "must be text, json, markdown"},
		{[]string{"apply", "m.yaml", "--format", "JSON"}, "must be text, json"},
		{[]string{"apply", "m.yaml", "--patch", "maybe"}, "must be auto, patch, put"},
		{[]string{"show", "p.json", "--format", "yaml"}, "must be text, json, markdown, html"},
		{[]string{"status", "--format", "html"}, "must be text, json, csv"},
		{[]string{"export", "--out", "d", "--format", "json"}, "must be yaml, csv"},
		{[]string{"link-keys", "m.yaml", "--out", "k.csv", "--for", "everyone"}, "must be all, reauthorize, connect"},
		{[]string{"doctor", "--format", "markdown"}, "must be text, json"},
		{[]string{"runs", "--format", "csv"}, "must be text, json"},
		{[]string{"runs", "show", "RUN", "--format", "markdown"}, "must be text, json, html"},
	} {
		code, _, errOut := runCLI(t, nil, tc.args...)
		assert.Equal(t, 1, code, "%v: %s", tc.args, errOut)
		flag := tc.args[len(tc.args)-2]
		assert.Contains(t, errOut, flag, tc.args)
		assert.Contains(t, errOut, tc.want, tc.args)
	}
}

func TestBuildVersion(t *testing.T) {
	info := func(v string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Version: v}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	assert.Equal(t, "v1.2.3", buildVersion(info("v1.2.3"), true), "go install …@v1.2.3")
	assert.Equal(t, "devel-0a6eda9c2f1b", buildVersion(info("(devel)", "vcs.revision", "0a6eda9c2f1b7e", "vcs.modified", "false"), true))
	assert.Equal(t, "devel-0a6eda9c2f1b-dirty", buildVersion(info("v0.0.0-20261130-0a6eda9c2f1b+dirty", "vcs.revision", "0a6eda9c2f1b7e", "vcs.modified", "true"), true))
	assert.Equal(t, "dev", buildVersion(nil, false))
	assert.NotEmpty(t, version)
}
