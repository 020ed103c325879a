package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// ProvidersOptions are the options of `leaf-import providers`.
type ProvidersOptions struct {
	IO     *IOStreams
	Format format
	// Config lists the config flags a manifest may set instead of the providers.
	Config bool
}

// NewCmdProviders builds `leaf-import providers`. runF replaces the run function in tests.
func NewCmdProviders(f *Factory, runF func(context.Context, *ProvidersOptions) error) *cobra.Command {
	opts := &ProvidersOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "List the providers leaf-import knows, with their credential fields (or the config flags)",
		Example: `  leaf-import providers
  leaf-import providers --format json | jq '.[] | select(.name == "CNHI")'
  leaf-import providers --config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runProviders(cmd.Context(), opts)
		},
	}
	choiceVar(cmd.Flags(), &opts.Format, "format", formatText, "output format: text or json", formatText, formatJSON)
	cmd.Flags().BoolVar(&opts.Config, "config", false, "list the Leaf config flags a manifest may set (config: and config.<flag> columns)")
	return cmd
}

// providerJSON is the JSON view of one provider-table row.
type providerJSON struct {
	Name               string      `json:"name"`
	DisplayName        string      `json:"displayName"`
	Aliases            []string    `json:"aliases"`
	CredentialPath     string      `json:"credentialPath"`
	UserField          string      `json:"userField"`
	RequiredFields     []string    `json:"requiredFields"`
	OptionalFields     []string    `json:"optionalFields"`
	SecretFields       []string    `json:"secretFields"`
	RotatingFields     []string    `json:"rotatingFields"`
	IdentityFields     []string    `json:"identityFields"`
	NotReturnedFields  []string    `json:"notReturnedFields"`
	Environment        string      `json:"environment"`
	EnvironmentDefault string      `json:"environmentDefault,omitempty"`
	AppKey             *appKeyJSON `json:"appKey"`
}

type appKeyJSON struct {
	Segment        string   `json:"segment"`
	Path           string   `json:"path"`
	RequiredFields []string `json:"requiredFields"`
	OptionalFields []string `json:"optionalFields"`
	SecretFields   []string `json:"secretFields"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toProviderJSON(p *leaf.Provider) providerJSON {
	out := providerJSON{
		Name: p.Name, DisplayName: p.DisplayName, Aliases: nonNil(p.Aliases),
		CredentialPath: p.CredentialPath, UserField: p.UserField,
		RequiredFields: nonNil(p.Required), OptionalFields: nonNil(p.Optional),
		SecretFields: nonNil(p.Secret), RotatingFields: nonNil(p.Rotating),
		IdentityFields: nonNil(p.Identity), NotReturnedFields: nonNil(p.NotReturned),
		Environment: p.Environment.String(), EnvironmentDefault: p.DefaultEnvironment(),
	}
	if a := p.AppKey; a != nil {
		out.AppKey = &appKeyJSON{Segment: a.Segment, Path: a.PathShape(), RequiredFields: nonNil(a.Required),
			OptionalFields: nonNil(a.Optional), SecretFields: nonNil(a.Secret)}
	}
	return out
}

// configFlagJSON is the JSON view of one config flag.
type configFlagJSON struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Values []string `json:"values,omitempty"`
}

func runConfigFlags(opts *ProvidersOptions) error {
	if opts.Format == formatJSON {
		out := make([]configFlagJSON, len(leaf.ConfigFlags))
		for i, f := range leaf.ConfigFlags {
			out[i] = configFlagJSON{Name: f.Name, Type: string(f.Type), Values: f.Values}
		}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONFIG FLAG\tTYPE")
	for _, f := range leaf.ConfigFlags {
		t := string(f.Type)
		if f.Values != nil {
			t += " (" + strings.Join(f.Values, ", ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\n", f.Name, t)
	}
	return tw.Flush()
}

func runProviders(_ context.Context, opts *ProvidersOptions) error {
	if opts.Config {
		return runConfigFlags(opts)
	}
	ps := leaf.Providers()
	if opts.Format == formatJSON {
		out := make([]providerJSON, len(ps))
		for i, p := range ps {
			out[i] = toProviderJSON(p)
		}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCREDENTIAL PATH\tENVIRONMENT\tREQUIRED FIELDS\tAPP KEY")
	for _, p := range ps {
		env := p.Environment.String()
		if d := p.DefaultEnvironment(); d != "" {
			env += " (" + d + ")"
		}
		app := "-"
		if p.AppKey != nil {
			app = p.AppKey.PathShape()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, p.CredentialPath, env, strings.Join(p.Required, ", "), app)
	}
	return tw.Flush()
}
