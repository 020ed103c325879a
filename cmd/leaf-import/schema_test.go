package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const schemaFile = "../../schema/manifest.schema.json"

// The committed schema is what `leaf-import schema` prints: regenerate it with
// `go run ./cmd/leaf-import schema > schema/manifest.schema.json` when the provider table or the
// config flags change.
func TestTheCommittedSchemaIsCurrent(t *testing.T) {
	code, out, _ := runCLI(t, nil, "schema")
	require.Equal(t, 0, code)
	golden(t, schemaFile, out)
}

// compileSchema compiles the committed schema with a JSON Schema validator (draft 2020-12).
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	require.NoError(t, err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("manifest.schema.json", doc))
	s, err := c.Compile("manifest.schema.json")
	require.NoError(t, err)
	return s
}

// yamlInstance reads a YAML manifest as the JSON value an editor's language server validates.
func yamlInstance(t *testing.T, doc string) any {
	t.Helper()
	var v any
	require.NoError(t, yaml.Unmarshal([]byte(doc), &v))
	b, err := json.Marshal(v)
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	require.NoError(t, err)
	return inst
}

// The samples pass the schema and name it for editors; misspelt keys, unknown providers, a
// missing externalId and wrong types fail it.
func TestTheSchemaAcceptsTheSamplesAndRefusesMistakes(t *testing.T) {
	s := compileSchema(t)
	for _, name := range []string{"../../samples/manifest.yaml"} {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(data), "# yaml-language-server: $schema=../schema/manifest.schema.json\n"), name)
		assert.NoError(t, s.Validate(yamlInstance(t, string(data))), name)
	}
	for _, c := range []struct{ name, doc, want string }{
		{"a misspelt grower key", "version: 1\ngrowers:\n  - {externalId: g1, nmae: Jo}\n", "nmae"},
		{"an unknown provider", "version: 1\ngrowers:\n  - externalId: g1\n    connections:\n      JohnDeer: {refreshToken: x}\n", "JohnDeer"},
		{"a missing externalId", "version: 1\ngrowers:\n  - {name: Jo}\n", "externalId"},
		{"a list for a name", "version: 1\ngrowers:\n  - {externalId: g1, name: [a, b]}\n", "name"},
		{"an unknown credential field", "version: 1\ngrowers:\n  - externalId: g1\n    connections:\n      AgLeader: {refershToken: x}\n", "refershToken"},
		{"an unknown config flag", "version: 1\ngrowers:\n  - {externalId: g1, config: {fieldsAutoSinc: true}}\n", "fieldsAutoSinc"},
		{"a config flag of the wrong type", "version: 1\ngrowers:\n  - {externalId: g1, config: {fieldsAutoSync: sometimes}}\n", "fieldsAutoSync"},
		{"no version", "growers: []\n", "version"},
		{"an app of a provider without app keys", "version: 1\napps:\n  - {provider: Valley, appName: a}\n", "provider"},
		{"an unknown app field", "version: 1\napps:\n  - {provider: AgLeader, appName: a, publicKey: p, privateKey: k, secret: s}\n", "secret"},
	} {
		err := s.Validate(yamlInstance(t, c.doc))
		if assert.Error(t, err, c.name) {
			assert.Contains(t, err.Error(), c.want, c.name)
		}
	}
}
