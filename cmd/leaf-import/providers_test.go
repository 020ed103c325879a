package main

import (
	"encoding/json"
	"strings"
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

func TestProvidersRejectsUnknownFormat(t *testing.T) {
	code, _, errOut := runCLI(t, nil, "providers", "--format", "xml")
	assert.Equal(t, 1, code)
	assert.True(t, strings.Contains(errOut, "--format"), errOut)
}
