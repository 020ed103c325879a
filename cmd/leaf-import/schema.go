package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/manifest"
)

// SchemaOptions are the options of `leaf-import schema`.
type SchemaOptions struct {
	IO *IOStreams
}

// NewCmdSchema builds `leaf-import schema`.
func NewCmdSchema(f *Factory, runF func(context.Context, *SchemaOptions) error) *cobra.Command {
	opts := &SchemaOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of a YAML manifest, for editors",
		Long: `schema prints the JSON Schema (draft 2020-12) of a YAML manifest, generated from the
provider table and the config flags. An editor with a YAML language server completes keys and
provider names with it and marks unknown ones as they are typed; start a manifest with

  # yaml-language-server: $schema=path/to/manifest.schema.json

The schema of this version is also committed as schema/manifest.schema.json. validate stays the
authority: references, duplicates and what Leaf accepts are checked there.`,
		Example: `  leaf-import schema > manifest.schema.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runSchema(opts)
		},
	}
}

func runSchema(opts *SchemaOptions) error {
	b, err := manifest.Schema()
	if err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(b)
	return err
}
