package manifest

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// SchemaID is the $id of the manifest's JSON Schema; the file is committed as
// schema/manifest.schema.json.
const SchemaID = "https://github.com/leaf-import/leaf-import/schema/manifest.schema.json"

// obj is a JSON Schema object; its keys are written sorted, so the schema is stable.
type obj = map[string]any

// Schema is the JSON Schema (draft 2020-12) of a YAML manifest, generated from the provider table
// and the config flags: an editor with a YAML language server completes keys and provider names
// and marks `JohnDeer` or `nmae` as it is typed. validate stays the authority (references,
// duplicates, what Leaf accepts); the schema says the shape.
func Schema() ([]byte, error) {
	defs := obj{"grower": growerSchema(), "config": configSchema(), "text": obj{"type": "string"}}
	connections := obj{}
	defaults := obj{"config": schemaRef("config")}
	for _, p := range leaf.Providers() {
		defs["connection."+p.Name] = connectionSchema(p)
		for _, name := range append([]string{p.Name}, p.Aliases...) {
			connections[name] = schemaRef("connection." + p.Name)
			defaults[name] = schemaRef("connection." + p.Name)
		}
	}
	defs["connections"] = obj{"type": "object", "additionalProperties": false, "properties": connections,
		"description": "The grower's provider connections, by provider: the credential fields Leaf takes."}
	s := obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID,
		"title":                "leaf-import manifest",
		"description":          "Growers, their provider connections and config, and the API owner's provider apps, for leaf-import (version 1). Secrets are references: ${NAME} or ${file:PATH}.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"version"},
		"properties": obj{
			"version":    obj{"const": ManifestVersion, "description": "The manifest format this file is written in."},
			"defaults":   obj{"type": "object", "additionalProperties": false, "properties": defaults, "description": "Merged under every grower's connection of that provider; config under every grower's config."},
			"apps":       obj{"type": "array", "items": appSchema()},
			"growers":    obj{"type": "array", "items": schemaRef("grower")},
			"growersCsv": obj{"type": "string", "minLength": 1, "description": "More growers from a CSV file, relative to this manifest."},
		},
		"$defs": defs,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func schemaRef(def string) obj { return obj{"$ref": "#/$defs/" + def} }

func text(max int, description string) obj {
	return obj{"type": "string", "maxLength": max, "description": description}
}

func growerSchema() obj {
	return obj{
		"type": "object", "additionalProperties": false, "required": []string{"externalId"},
		"properties": obj{
			"externalId":  obj{"type": "string", "minLength": 1, "maxLength": maxExternalID, "description": "The grower's id in the system of record: the key leaf-import matches Leaf users on."},
			"name":        text(maxName, "Written as is (no references)."),
			"email":       text(maxEmail, "local@domain"),
			"phone":       text(maxPhone, "Written as is (no references)."),
			"address":     text(maxAddress, "Written as is (no references)."),
			"connections": schemaRef("connections"),
			"config":      schemaRef("config"),
		},
	}
}

func connectionSchema(p *leaf.Provider) obj {
	props := obj{}
	for _, f := range p.CreateFields() {
		props[f] = obj{"type": "string", "maxLength": maxCredential}
	}
	return obj{"type": "object", "additionalProperties": false, "properties": props,
		"description": p.DisplayName + " credential fields (required when not in defaults: " + joinFields(p.Required) + ")."}
}

func joinFields(fs []string) string {
	var b bytes.Buffer
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f)
	}
	return b.String()
}

func configSchema() obj {
	props := obj{}
	for _, f := range leaf.ConfigFlags {
		s := obj{"type": string(f.Type)}
		if len(f.Values) > 0 {
			s["enum"] = f.Values
		}
		props[f.Name] = s
	}
	return obj{"type": "object", "additionalProperties": false, "properties": props,
		"description": "Leaf's configuration flags for the grower, set after its user and before its credentials."}
}

// appSchema is an apps item: its provider decides its fields.
func appSchema() obj {
	var names []string
	var branches []any
	for _, p := range leaf.Providers() {
		if p.AppKey == nil {
			continue
		}
		names = append(names, p.Name)
		props := obj{"provider": obj{}, "appName": obj{"type": "string", "minLength": 1, "maxLength": maxAppName},
			"clientEnvironment": obj{"type": "string", "pattern": "^([Ss][Tt][Aa][Gg][Ee]|[Pp][Rr][Oo][Dd][Uu][Cc][Tt][Ii][Oo][Nn])$",
				"description": leaf.EnvStage + " or " + leaf.EnvProduction + ", in any case"}}
		fields := slices.Clone(p.AppKey.Fields())
		for _, alt := range p.AppKey.UpdateAlternatives {
			fields = append(fields, alt...)
		}
		for _, f := range fields {
			if p.AppKey.IsList(f) {
				props[f] = obj{"type": "array", "items": obj{"type": "string"}}
			} else {
				props[f] = obj{"type": "string", "maxLength": maxCredential}
			}
		}
		required := []string{"provider", "appName"}
		if p.AppKey.WithEnvironment {
			required = append(required, "clientEnvironment")
		}
		branches = append(branches, obj{
			"if":   obj{"properties": obj{"provider": obj{"const": p.Name}}, "required": []string{"provider"}},
			"then": obj{"additionalProperties": false, "properties": props, "required": required},
		})
	}
	return obj{"type": "object", "required": []string{"provider"},
		"properties": obj{"provider": obj{"enum": names, "description": "A provider with Leaf Link app keys."}},
		"allOf":      branches}
}
