package leaf

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProviderTableCoversEveryProvider(t *testing.T) {
	want := []string{"JohnDeere", "CLAAS", "ClimateFieldView", "CNHI", "Trimble", "AgLeader", "Stara", "Raven",
		"RavenSlingshot", "Sentera", "AgVance", "Panorama", "Lindsay", "Valley", "Agrimatics"}
	var got []string
	for _, p := range Providers() {
		got = append(got, p.Name)
	}
	assert.Equal(t, want, got)
}

func TestProviderTableIsConsistent(t *testing.T) {
	paths, fields := map[string]bool{}, map[string]bool{}
	for _, p := range Providers() {
		t.Run(p.Name, func(t *testing.T) {
			assert.False(t, paths[p.CredentialPath], "duplicate credential path")
			assert.False(t, fields[p.UserField], "duplicate user field")
			paths[p.CredentialPath], fields[p.UserField] = true, true
			assert.Regexp(t, `^[a-z-]+-credentials$`, p.CredentialPath)
			assert.Regexp(t, `^[a-z][A-Za-z]+Credentials$`, p.UserField)
			require.NotEmpty(t, p.Required)
			known := append(p.CreateFields(), p.Generated...)
			for _, f := range append(append(append([]string{}, p.Secret...), p.Rotating...), p.Identity...) {
				assert.Contains(t, known, f, "classified field is neither a create field nor generated")
			}
			for _, f := range p.Rotating {
				assert.True(t, p.IsSecret(f), "rotating token %s must be secret", f)
			}
			for _, f := range p.Identity {
				assert.False(t, p.IsSecret(f), "identity field %s must not be secret", f)
			}
			for _, f := range p.ComparedFields() {
				assert.False(t, p.IsRotating(f), "compared field %s rotates", f)
			}
			switch p.Environment {
			case EnvRequired:
				assert.True(t, p.IsRequired(FieldClientEnvironment))
			case EnvOptional:
				assert.Contains(t, p.Optional, FieldClientEnvironment)
				assert.Equal(t, EnvStage, p.DefaultEnvironment())
			case EnvNone:
				assert.False(t, p.Accepts(FieldClientEnvironment))
			}
			if a := p.AppKey; a != nil {
				q, ok := ProviderByAppSegment(a.Segment)
				assert.True(t, ok && q == p)
				for _, f := range a.Secret {
					assert.True(t, slices.Contains(a.Fields(), f) || slices.ContainsFunc(a.UpdateAlternatives, func(s []string) bool { return slices.Contains(s, f) }))
				}
			}
		})
	}
}

func TestLookupProvider(t *testing.T) {
	for name, want := range map[string]string{
		"JohnDeere": "JohnDeere", "johndeere": "JohnDeere", "john-deere": "JohnDeere", "John Deere": "JohnDeere",
		"john-deere-credentials": "JohnDeere", "CNHi": "CNHI", "cnhi": "CNHI", "climate-field-view": "ClimateFieldView",
		"cfv": "ClimateFieldView", "ag-leader": "AgLeader", "raven-slingshot": "RavenSlingshot", "AGVANCE": "AgVance",
		" Valley ": "Valley", "agrimatics": "Agrimatics",
	} {
		p, ok := LookupProvider(name)
		if assert.True(t, ok, name) {
			assert.Equal(t, want, p.Name, name)
		}
	}
	_, ok := LookupProvider("FarmersEdge")
	assert.False(t, ok)
	p, ok := ProviderByUserField("agVanceCredentials")
	require.True(t, ok, "user field casing is undocumented for AgVance")
	assert.Equal(t, "AgVance", p.Name)
}

func TestComparedFieldsExcludeRotatingAndUnreturned(t *testing.T) {
	jd, _ := LookupProvider("JohnDeere")
	assert.ElementsMatch(t, []string{"clientKey", "clientSecret", "clientEnvironment"}, jd.ComparedFields())
	sentera, _ := LookupProvider("Sentera")
	assert.ElementsMatch(t, []string{"username", "organizationName"}, sentera.ComparedFields())
	valley, _ := LookupProvider("Valley")
	assert.NotContains(t, valley.ComparedFields(), "password")
}

func TestCredentialFieldNames(t *testing.T) {
	names := CredentialFieldNames()
	assert.True(t, slices.IsSorted(names))
	for _, f := range []string{"refreshToken", "clientKey", "clientId", "clientSecret", "clientEnvironment", "apiKey",
		"publicKey", "privateKey", "username", "password", "subscriptionKey", "apid", "initializationVector"} {
		assert.Contains(t, names, f)
	}
}
