package leaf

import (
	"slices"
	"strings"
)

// EnvRule says how a provider treats the clientEnvironment field.
type EnvRule int

const (
	// EnvNone: the provider has no clientEnvironment.
	EnvNone EnvRule = iota
	// EnvRequired: clientEnvironment is STAGE or PRODUCTION and must be sent.
	EnvRequired
	// EnvOptional: clientEnvironment is STAGE or PRODUCTION; Leaf uses STAGE when it is omitted.
	EnvOptional
)

// String returns the rule as the providers command prints it.
func (r EnvRule) String() string {
	switch r {
	case EnvRequired:
		return "required"
	case EnvOptional:
		return "optional"
	default:
		return "none"
	}
}

// Environment values Leaf accepts for clientEnvironment.
const (
	EnvStage      = "STAGE"
	EnvProduction = "PRODUCTION"
)

// FieldClientEnvironment is the credential and app-key field that carries the provider environment.
const FieldClientEnvironment = "clientEnvironment"

// ValidEnvironment reports whether s is a clientEnvironment value Leaf accepts.
func ValidEnvironment(s string) bool { return s == EnvStage || s == EnvProduction }

// AppKeySpec describes a provider's Leaf Link application registration
// (/app-keys/{Segment}/{appName}[/{clientEnvironment}]).
type AppKeySpec struct {
	// Segment is the {Provider} path segment, e.g. "JohnDeere".
	Segment string
	// WithEnvironment: the path ends in /{clientEnvironment}.
	WithEnvironment bool
	// Required fields of the create body.
	Required []string
	// Optional fields of the create body.
	Optional []string
	// Secret fields: shown only as fingerprints, never echoed by Leaf.
	Secret []string
	// ListFields are the fields whose value is a string array (scopes).
	ListFields []string
	// UpdateAlternatives are further field sets an update body may carry instead of Required.
	UpdateAlternatives [][]string
}

// PathShape is the documented path of one app, e.g. "/app-keys/CNHI/{appName}/{clientEnvironment}".
func (a *AppKeySpec) PathShape() string {
	p := "/app-keys/" + a.Segment + "/{appName}"
	if a.WithEnvironment {
		p += "/{clientEnvironment}"
	}
	return p
}

// Fields returns every body field an app-key create may carry.
func (a *AppKeySpec) Fields() []string { return concat(a.Required, a.Optional) }

// IsSecret reports whether an app-key field is secret.
func (a *AppKeySpec) IsSecret(field string) bool { return slices.Contains(a.Secret, field) }

// IsList reports whether an app-key field is a string array.
func (a *AppKeySpec) IsList(field string) bool { return slices.Contains(a.ListFields, field) }

// Provider is one row of the provider table.
type Provider struct {
	// Name is the canonical name used in manifests, plans and reports ("JohnDeere", "CNHI").
	Name string
	// DisplayName is how people write it ("John Deere").
	DisplayName string
	// Aliases are further accepted spellings (matched case-insensitively).
	Aliases []string
	// CredentialPath is the {credential-path} of /users/{leafUserId}/{credential-path}.
	CredentialPath string
	// UserField is the property of the Leaf user object that embeds the credential.
	UserField string
	// Required fields of the create body (clientEnvironment included when EnvRequired).
	Required []string
	// Optional fields of the create body.
	Optional []string
	// Secret fields: never printed; shown in plans only as keyed fingerprints.
	Secret []string
	// Rotating fields are tokens Leaf refreshes itself; they are never a reason to replace a
	// healthy credential.
	Rotating []string
	// Identity fields name the account a credential belongs to; plans show them in clear.
	Identity []string
	// NotReturned are create fields Leaf does not echo on GET; they cannot be compared.
	NotReturned []string
	// Generated are string fields Leaf adds to the stored credential (the sandbox emulates them).
	Generated []string
	// OAuthScopes: Leaf adds tokenMetadata{scopes[]} to the stored credential.
	OAuthScopes bool
	// Environment is the clientEnvironment rule.
	Environment EnvRule
	// AppKey is the Leaf Link app registration, nil where the provider has none.
	AppKey *AppKeySpec

	// compared caches ComparedFields (set in init).
	compared []string
}

// CreateFields returns every field a create body may carry, required first.
func (p *Provider) CreateFields() []string { return concat(p.Required, p.Optional) }

// IsSecret reports whether a credential field is secret.
func (p *Provider) IsSecret(field string) bool { return slices.Contains(p.Secret, field) }

// IsRotating reports whether a credential field is a token Leaf rotates itself.
func (p *Provider) IsRotating(field string) bool { return slices.Contains(p.Rotating, field) }

// IsRequired reports whether a credential create needs the field.
func (p *Provider) IsRequired(field string) bool { return slices.Contains(p.Required, field) }

// Accepts reports whether field is a create field of this provider.
func (p *Provider) Accepts(field string) bool {
	return slices.Contains(p.Required, field) || slices.Contains(p.Optional, field)
}

// ComparedFields are the create fields a plan compares against what Leaf returns: every field
// Leaf echoes except the rotating tokens (identity fields and stable secrets). The slice is
// shared: do not modify it.
func (p *Provider) ComparedFields() []string { return p.compared }

func (p *Provider) computeCompared() []string {
	var out []string
	for _, f := range p.CreateFields() {
		if !p.IsRotating(f) && !slices.Contains(p.NotReturned, f) {
			out = append(out, f)
		}
	}
	return out
}

// DefaultEnvironment is the clientEnvironment Leaf assumes when none is sent ("" when none).
func (p *Provider) DefaultEnvironment() string {
	if p.Environment == EnvOptional {
		return EnvStage
	}
	return ""
}

// APIName is the provider's path form, e.g. "john-deere" for "john-deere-credentials".
func (p *Provider) APIName() string { return strings.TrimSuffix(p.CredentialPath, "-credentials") }

func concat(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// list is a helper that keeps the table below readable.
func list(s ...string) []string { return s }

// providers is the provider table: the only place in leaf-import that knows provider specifics.
// Sources: docs/leaf-api.md §3.2 (credential matrix), §4 (user-object fields), §5.2 (app keys); Agrimatics
// from Leaf's Postman collection.
var providers = []*Provider{
	{
		Name: "JohnDeere", DisplayName: "John Deere", Aliases: list("jd", "deere"),
		CredentialPath: "john-deere-credentials", UserField: "johnDeereCredentials",
		Required:  list("clientKey", "clientSecret", "refreshToken", FieldClientEnvironment),
		Secret:    list("clientSecret", "refreshToken", "accessToken"),
		Rotating:  list("refreshToken", "accessToken"),
		Identity:  list("clientKey", FieldClientEnvironment),
		Generated: list("accessToken"), OAuthScopes: true,
		Environment: EnvRequired,
		AppKey: &AppKeySpec{Segment: "JohnDeere", WithEnvironment: true,
			Required: list("clientKey", "clientSecret"), Optional: list("scopes"),
			Secret: list("clientSecret"), ListFields: list("scopes")},
	},
	{
		Name: "CLAAS", DisplayName: "CLAAS",
		CredentialPath: "claas-credentials", UserField: "claasCredentials",
		Required:    list("clientKey", "clientSecret", "refreshToken"),
		Optional:    list(FieldClientEnvironment),
		Secret:      list("clientSecret", "refreshToken"),
		Rotating:    list("refreshToken"),
		Identity:    list("clientKey", FieldClientEnvironment),
		Environment: EnvOptional,
	},
	{
		Name: "ClimateFieldView", DisplayName: "Climate FieldView", Aliases: list("cfv", "climate", "fieldview"),
		CredentialPath: "climate-field-view-credentials", UserField: "climateFieldViewCredentials",
		Required:  list("clientId", "clientSecret", "apiKey", "refreshToken"),
		Secret:    list("clientSecret", "apiKey", "refreshToken", "accessToken"),
		Rotating:  list("refreshToken", "accessToken"),
		Identity:  list("clientId"),
		Generated: list("accessToken"), OAuthScopes: true,
		AppKey: &AppKeySpec{Segment: "ClimateFieldView",
			Required: list("apiKey", "clientId", "clientSecret"), Optional: list("scopes"),
			Secret: list("apiKey", "clientSecret"), ListFields: list("scopes")},
	},
	{
		Name: "CNHI", DisplayName: "CNHi", Aliases: list("cnh", "afs-connect"),
		CredentialPath: "cnhi-credentials", UserField: "cnhiCredentials",
		Required:    list("clientId", "clientSecret", "subscriptionKey", "refreshToken", FieldClientEnvironment),
		Secret:      list("clientSecret", "subscriptionKey", "refreshToken"),
		Rotating:    list("refreshToken"),
		Identity:    list("clientId", FieldClientEnvironment),
		Environment: EnvRequired,
		AppKey: &AppKeySpec{Segment: "CNHI", WithEnvironment: true,
			Required: list("clientId", "clientSecret", "subscriptionKey"),
			Secret:   list("clientSecret", "subscriptionKey")},
	},
	{
		Name: "Trimble", DisplayName: "Trimble",
		CredentialPath: "trimble-credentials", UserField: "trimbleCredentials",
		Required:  list("clientId", "clientSecret", "refreshToken"),
		Secret:    list("clientSecret", "refreshToken", "accessToken"),
		Rotating:  list("refreshToken", "accessToken"),
		Identity:  list("clientId"),
		Generated: list("accessToken"), OAuthScopes: true,
		AppKey: &AppKeySpec{Segment: "Trimble",
			Required: list("applicationName", "clientId", "clientSecret"),
			Secret:   list("clientSecret")},
	},
	{
		Name: "AgLeader", DisplayName: "AgLeader", Aliases: list("ag-leader"),
		CredentialPath: "ag-leader-credentials", UserField: "agLeaderCredentials",
		Required: list("refreshToken", "publicKey", "privateKey"),
		Optional: list("accessToken"),
		Secret:   list("privateKey", "accessToken", "refreshToken"),
		Rotating: list("accessToken", "refreshToken"),
		Identity: list("publicKey"),
		AppKey: &AppKeySpec{Segment: "AgLeader",
			Required: list("privateKey", "publicKey"),
			Secret:   list("privateKey")},
	},
	{
		Name: "Stara", DisplayName: "Stara",
		CredentialPath: "stara-credentials", UserField: "staraCredentials",
		Required: list("apiKey", "accessToken", "accessTokenClient", "refreshToken"),
		Secret:   list("apiKey", "accessToken", "accessTokenClient", "refreshToken"),
		Rotating: list("accessToken", "refreshToken"),
		AppKey: &AppKeySpec{Segment: "Stara",
			Required: list("user", "pwd"),
			Secret:   list("pwd", "accessTokenClient"),
			// Leaf's Postman collection updates a Stara app with accessTokenClient alone.
			UpdateAlternatives: [][]string{list("accessTokenClient")}},
	},
	{
		Name: "Raven", DisplayName: "Raven",
		CredentialPath: "raven-credentials", UserField: "ravenCredentials",
		Required:  list("clientId", "clientSecret", "refreshToken"),
		Secret:    list("clientSecret", "accessToken", "refreshToken"),
		Rotating:  list("accessToken", "refreshToken"),
		Identity:  list("clientId"),
		Generated: list("accessToken"), OAuthScopes: true,
	},
	{
		Name: "RavenSlingshot", DisplayName: "Raven Slingshot", Aliases: list("slingshot"),
		CredentialPath: "raven-slingshot-credentials", UserField: "ravenSlingshotCredentials",
		Required: list("apiKey", "accessKey", "sharedSecret"),
		Secret:   list("apiKey", "accessKey", "sharedSecret"),
		// The current docs omit sharedSecret from GET (the legacy docs show it).
		NotReturned: list("sharedSecret"),
		AppKey: &AppKeySpec{Segment: "RavenSlingshot",
			Required: list("apiKey", "sharedSecret"),
			Secret:   list("apiKey", "sharedSecret")},
	},
	{
		Name: "Sentera", DisplayName: "Sentera",
		CredentialPath: "sentera-credentials", UserField: "senteraCredentials",
		Required:    list("username", "password", "organizationName"),
		Secret:      list("password", "authToken"),
		Rotating:    list("authToken"),
		Identity:    list("username", "organizationName"),
		NotReturned: list("password"),
		Generated:   list("authToken", "organizationId"),
	},
	{
		Name: "AgVance", DisplayName: "AgVance",
		CredentialPath: "agvance-credentials", UserField: "agvanceCredentials",
		Required:    list("apiKey", "databaseId", "username", "password"),
		Optional:    list(FieldClientEnvironment),
		Secret:      list("password", "apiKey", "sessionId"),
		Rotating:    list("sessionId"),
		Identity:    list("databaseId", "username", FieldClientEnvironment),
		Generated:   list("sessionId"),
		Environment: EnvOptional,
	},
	{
		Name: "Panorama", DisplayName: "Panorama", Aliases: list("precision-planting"),
		CredentialPath: "panorama-credentials", UserField: "panoramaCredentials",
		Required:    list("clientId", "username", "password", "organizationCode", "refreshToken", FieldClientEnvironment),
		Secret:      list("password", "accessToken", "refreshToken"),
		Rotating:    list("accessToken", "refreshToken"),
		Identity:    list("clientId", "username", "organizationCode", FieldClientEnvironment),
		NotReturned: list("password"),
		Generated:   list("accessToken"),
		Environment: EnvRequired,
	},
	{
		Name: "Lindsay", DisplayName: "Lindsay", Aliases: list("fieldnet"),
		CredentialPath: "lindsay-credentials", UserField: "lindsayCredentials",
		Required:    list("clientId", "clientSecret", "refreshToken", FieldClientEnvironment),
		Secret:      list("clientSecret", "accessToken", "refreshToken"),
		Rotating:    list("accessToken", "refreshToken"),
		Identity:    list("clientId", FieldClientEnvironment),
		Generated:   list("accessToken"),
		OAuthScopes: true, Environment: EnvRequired,
		// Assumed path (docs/leaf-api.md U17).
		AppKey: &AppKeySpec{Segment: "Lindsay",
			Required: list("clientId", "clientSecret"),
			Secret:   list("clientSecret")},
	},
	{
		Name: "Valley", DisplayName: "Valley",
		CredentialPath: "valley-credentials", UserField: "valleyCredentials",
		Required:    list("apid", "initializationVector", "key", "username", "password"),
		Secret:      list("key", "initializationVector", "password"),
		Identity:    list("apid", "username"),
		NotReturned: list("password"),
	},
	{
		Name: "Agrimatics", DisplayName: "Agrimatics",
		CredentialPath: "agrimatics-credentials", UserField: "agrimaticsCredentials",
		Required:    list("clientId", "clientSecret", "accessToken", FieldClientEnvironment),
		Secret:      list("clientSecret", "accessToken"),
		Rotating:    list("accessToken"),
		Identity:    list("clientId", FieldClientEnvironment),
		Environment: EnvRequired,
	},
}

// providerIndex maps every accepted spelling (lower case) to its provider.
var providerIndex = func() map[string]*Provider {
	idx := make(map[string]*Provider)
	for _, p := range providers {
		p.compared = p.computeCompared()
		keys := append([]string{p.Name, p.DisplayName, strings.ReplaceAll(p.DisplayName, " ", ""),
			p.APIName(), p.CredentialPath, p.UserField}, p.Aliases...)
		for _, k := range keys {
			idx[strings.ToLower(k)] = p
		}
	}
	return idx
}()

// Providers returns the provider table in its documented order.
func Providers() []*Provider { return slices.Clone(providers) }

// LookupProvider finds a provider by its canonical name, an alias, its display name or its
// API path form ("john-deere"), case-insensitively.
func LookupProvider(name string) (*Provider, bool) {
	p, ok := providerIndex[strings.ToLower(strings.TrimSpace(name))]
	return p, ok
}

// findProvider returns the first provider of the table that matches.
func findProvider(match func(*Provider) bool) (*Provider, bool) {
	for _, p := range providers {
		if match(p) {
			return p, true
		}
	}
	return nil, false
}

// ProviderByPath finds a provider by its exact credential path ("john-deere-credentials").
func ProviderByPath(path string) (*Provider, bool) {
	return findProvider(func(p *Provider) bool { return p.CredentialPath == path })
}

// ProviderByAppSegment finds a provider by its exact app-key segment ("JohnDeere").
func ProviderByAppSegment(segment string) (*Provider, bool) {
	return findProvider(func(p *Provider) bool { return p.AppKey != nil && p.AppKey.Segment == segment })
}

// ProviderByUserField finds a provider by the user-object property that embeds its credential,
// case-insensitively (Leaf's casing of some properties is undocumented).
func ProviderByUserField(field string) (*Provider, bool) {
	return findProvider(func(p *Provider) bool { return strings.EqualFold(p.UserField, field) })
}

// CredentialFieldNames returns every credential create field of every provider, sorted: the
// credential columns a CSV manifest may carry.
func CredentialFieldNames() []string {
	var out []string
	for _, p := range providers {
		out = append(out, p.CreateFields()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
