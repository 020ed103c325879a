package leaf

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ConfigPath is the base of Leaf's configuration service: GET/PATCH ConfigPath is the API
// owner's default, GET/POST/PATCH/DELETE ConfigPath/{leafUserId} a Leaf user's own
// (docs/leaf-api.md, Configurations).
const ConfigPath = "/services/config/api/configs"

// ConfigType is the type of a configuration flag's value.
type ConfigType string

const (
	ConfigBool   ConfigType = "boolean"
	ConfigNumber ConfigType = "number"
	ConfigString ConfigType = "string"
)

// ConfigFlag is one configuration flag leaf-import manages.
type ConfigFlag struct {
	Name string
	Type ConfigType
	// Values lists the accepted values of a string flag (nil: any).
	Values []string
}

// ConfigFlags are the flags a manifest may set: the scalar flags of Leaf's configuration
// reference. Flags whose value is an object or a list (geoimagesColorRamp, cleanupRules) are
// not managed: Leaf keeps whatever they hold.
var ConfigFlags = func() []ConfigFlag {
	bools := []string{
		"automaticFixBoundary", "cleanupStandardGeojson", "cropOptional", "customDataSync",
		"enableGeoparquetOutput", "enableOperationsSession", "enableOutsideFieldGeojson", "enablePolygonOutput",
		"fieldOperationCreation", "fieldsAutoMerge", "fieldsAutoSync", "implementsAutoSync", "machinesAutoSync",
		"operationsAutoSync", "operationsFilteredGeojson", "operationsImageAsGeoTiff",
		"operationsImageAttributeCreation", "operationsImageCreation", "operationsRemoveOutliers",
		"operatorsAutoSync", "organizationDataSync", "originalOperationData", "outOfStandardOperations",
		"productsAutoSync", "seedRateOptional", "splitOperationsByField", "splitOperationsByProvider",
		"splitOperationsByTillType", "summarizeByProductEntry", "syncPartnerData", "zonesAutoSync",
	}
	out := make([]ConfigFlag, 0, len(bools)+8)
	for _, b := range bools {
		out = append(out, ConfigFlag{Name: b, Type: ConfigBool})
	}
	out = append(out,
		ConfigFlag{Name: "fieldsAttachIntersection", Type: ConfigNumber},
		ConfigFlag{Name: "fieldsMergeIntersection", Type: ConfigNumber},
		ConfigFlag{Name: "geoimagesResolution", Type: ConfigNumber},
		ConfigFlag{Name: "operationsOutliersLimit", Type: ConfigNumber},
		ConfigFlag{Name: "geoimagesProjection", Type: ConfigString},
		ConfigFlag{Name: "geoimagesShape", Type: ConfigString, Values: []string{"ROUND", "SQUARE"}},
		ConfigFlag{Name: "unitMeasurement", Type: ConfigString},
	)
	slices.SortFunc(out, func(a, b ConfigFlag) int { return strings.Compare(a.Name, b.Name) })
	return out
}()

// LookupConfigFlag finds a flag by its exact name.
func LookupConfigFlag(name string) (ConfigFlag, bool) {
	i, ok := slices.BinarySearchFunc(ConfigFlags, name, func(f ConfigFlag, n string) int { return strings.Compare(f.Name, n) })
	if !ok {
		return ConfigFlag{}, false
	}
	return ConfigFlags[i], true
}

// ConfigFlagNames lists the managed flags in order.
func ConfigFlagNames() []string {
	out := make([]string, len(ConfigFlags))
	for i, f := range ConfigFlags {
		out[i] = f.Name
	}
	return out
}

// Parse checks text as a value of the flag and returns its canonical text: "true"/"false" for a
// boolean (any case), the shortest decimal for a number, the string itself otherwise.
func (f ConfigFlag) Parse(text string) (string, error) {
	t := strings.TrimSpace(text)
	switch f.Type {
	case ConfigBool:
		switch strings.ToLower(t) {
		case "true":
			return "true", nil
		case "false":
			return "false", nil
		}
		return "", fmt.Errorf("%s takes true or false", f.Name)
	case ConfigNumber:
		v, err := strconv.ParseFloat(t, 64)
		if err != nil || v != v || v > 1e300 || v < -1e300 {
			return "", fmt.Errorf("%s takes a number", f.Name)
		}
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	}
	if t == "" {
		return "", fmt.Errorf("%s must not be empty", f.Name)
	}
	if f.Values != nil && !slices.Contains(f.Values, t) {
		return "", fmt.Errorf("%s takes one of %s", f.Name, strings.Join(f.Values, ", "))
	}
	return t, nil
}

// wire is the JSON value of a canonical text.
func (f ConfigFlag) wire(canonical string) any {
	switch f.Type {
	case ConfigBool:
		return canonical == "true"
	case ConfigNumber:
		v, _ := strconv.ParseFloat(canonical, 64)
		return v
	}
	return canonical
}

// Config is a set of managed configuration flags with their canonical values (see
// ConfigFlag.Parse), kept sorted by name. A nil Config sets nothing.
type Config []ConfigValue

// ConfigValue is one flag's canonical value.
type ConfigValue struct {
	Name  string
	Value string
}

// Get returns a flag's value and whether it is set.
func (c Config) Get(name string) (string, bool) {
	for _, v := range c {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

// With returns c with name set to value (a new slice; c is not modified).
func (c Config) With(name, value string) Config {
	out := make(Config, 0, len(c)+1)
	done := false
	for _, v := range c {
		switch {
		case v.Name == name:
			out = append(out, ConfigValue{name, value})
			done = true
			continue
		case !done && v.Name > name:
			out = append(out, ConfigValue{name, value})
			done = true
		}
		out = append(out, v)
	}
	if !done {
		out = append(out, ConfigValue{name, value})
	}
	return out
}

// Digest is a short digest of the flags and their values: what the workspace records as the
// config last applied to a user.
func (c Config) Digest() string {
	h := sha256.New()
	for _, v := range c {
		h.Write([]byte(v.Name))
		h.Write([]byte{0})
		h.Write([]byte(v.Value))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// body is the JSON body that sets c.
func (c Config) body() map[string]any {
	m := make(map[string]any, len(c))
	for _, v := range c {
		f, _ := LookupConfigFlag(v.Name)
		m[v.Name] = f.wire(v.Value)
	}
	return m
}

// decodeConfig keeps the managed flags of a configuration Leaf returned, canonical. A value of
// the wrong type is kept as its JSON text, so that it differs from anything a manifest sets
// (the plan then sets it again) and is never echoed raw: it is cleaned where it is shown.
func decodeConfig(raw map[string]json.RawMessage) Config {
	var out Config
	for _, f := range ConfigFlags {
		v, ok := raw[f.Name]
		if !ok || string(v) == "null" {
			continue
		}
		text := string(v)
		if f.Type == ConfigString {
			var s string
			if json.Unmarshal(v, &s) != nil {
				out = append(out, ConfigValue{f.Name, CleanText(text, nil)})
				continue
			}
			text = s
		}
		canon, err := f.Parse(text)
		if err != nil {
			canon = CleanText(text, nil)
		}
		out = append(out, ConfigValue{f.Name, canon})
	}
	return out
}

// UserConfig is what a read of a user's own configuration found.
type UserConfig struct {
	// Exists is false when the user has no configuration of its own (it inherits the API
	// owner's).
	Exists bool
	Config Config
}

func userConfigPath(id string) string { return ConfigPath + "/" + url.PathEscape(id) }

// UserConfig reads a Leaf user's own configuration (GET /configs/{leafUserId}). A user without
// one answers 404 (see IsNotFound; docs/leaf-api.md, assumption C1).
func (c *Client) UserConfig(ctx context.Context, userID string) (Config, error) {
	var raw map[string]json.RawMessage
	if _, err := c.do(ctx, &request{method: http.MethodGet, path: userConfigPath(userID)}, &raw); err != nil {
		return nil, err
	}
	return decodeConfig(raw), nil
}

// SetUserConfig sets the flags of cfg on a user's own configuration, leaving the others as they
// are. exists says whether the user has a configuration of its own: it is created with POST,
// changed with PATCH. Each falls back to the other when Leaf disagrees (409 on POST, 404 on
// PATCH), so a stale belief costs one request, not a failure. Both are idempotent: sending the
// same flags twice leaves the same configuration.
func (c *Client) SetUserConfig(ctx context.Context, userID string, cfg Config, exists bool) error {
	method, other := http.MethodPost, http.MethodPatch
	if exists {
		method, other = http.MethodPatch, http.MethodPost
	}
	body := cfg.body()
	_, err := c.do(ctx, &request{method: method, path: userConfigPath(userID), body: body}, nil)
	if method == http.MethodPost && IsConflict(err) || method == http.MethodPatch && IsNotFound(err) {
		_, err = c.do(ctx, &request{method: other, path: userConfigPath(userID), body: body}, nil)
	}
	return err
}

// DeleteUserConfig removes a user's own configuration: the user inherits the API owner's again.
func (c *Client) DeleteUserConfig(ctx context.Context, userID string) error {
	_, err := c.do(ctx, &request{method: http.MethodDelete, path: userConfigPath(userID)}, nil)
	return err
}

// DefaultConfig reads the API owner's configuration (GET /configs).
func (c *Client) DefaultConfig(ctx context.Context) (Config, error) {
	var raw map[string]json.RawMessage
	if _, err := c.do(ctx, &request{method: http.MethodGet, path: ConfigPath}, &raw); err != nil {
		return nil, err
	}
	return decodeConfig(raw), nil
}
