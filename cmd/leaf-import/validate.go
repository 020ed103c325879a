package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/manifest"
)

// ValidateOptions are the options of `leaf-import validate`.
type ValidateOptions struct {
	IO       *IOStreams
	Factory  *Factory
	Manifest string
	Format   format
}

// NewCmdValidate builds `leaf-import validate`.
func NewCmdValidate(f *Factory, runF func(context.Context, *ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "validate MANIFEST",
		Short: "Check a manifest and report every problem with its file, line and field",
		Long: `validate reads a YAML or CSV manifest (and the CSV a YAML manifest names), resolves its
${NAME} and ${file:PATH} references and checks every grower, connection and app against the
provider table. It prints every problem and sends nothing to Leaf. Exit 0 when the manifest
is valid, 1 otherwise.`,
		Example: `  leaf-import validate samples/manifest.yaml
  leaf-import validate growers.csv --format json`,
		Args: exactArgs(1, "MANIFEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Manifest = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runValidate(cmd.Context(), opts)
		},
	}
	choiceVar(cmd.Flags(), &opts.Format, "format", formatText, "output format: text or json", formatText, formatJSON)
	return cmd
}

// validationJSON is the JSON output of validate.
type validationJSON struct {
	Valid    bool               `json:"valid"`
	Manifest string             `json:"manifest"`
	Problems []manifest.Problem `json:"problems"`
	// ProblemCount counts every problem found; Problems lists the first manifest.MaxProblems.
	ProblemCount int `json:"problemCount"`
	Growers      int `json:"growers"`
	Connections  int `json:"connections"`
	Apps         int `json:"apps"`
}

func runValidate(_ context.Context, opts *ValidateOptions) error {
	log := opts.Factory.Logger()
	m, err := loadManifest(opts.Factory, opts.Manifest, log)
	var problems manifest.Problems
	if err != nil && !errors.As(err, &problems) {
		return withCode(exitError, err)
	}
	out := validationJSON{Valid: len(problems) == 0, Manifest: opts.Manifest, Problems: problems, ProblemCount: problems.Count()}
	if out.Problems == nil {
		out.Problems = []manifest.Problem{}
	}
	if m != nil {
		out.Growers, out.Apps = len(m.Growers), len(m.Apps)
		for _, g := range m.Growers {
			out.Connections += len(g.Connections)
		}
	}
	if opts.Format == formatJSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else if out.Valid {
		fmt.Fprintf(opts.IO.Out, "%s is valid: %d growers, %d connections, %d apps.\n", opts.Manifest, out.Growers, out.Connections, out.Apps)
	} else {
		for _, p := range problems {
			fmt.Fprintln(opts.IO.Out, p.String())
		}
		fmt.Fprintf(opts.IO.Out, "%s: %d problem(s); nothing was sent to Leaf.\n", opts.Manifest, problems.Count())
	}
	if !out.Valid {
		return withCode(exitError, nil)
	}
	return nil
}

// exactArgs is cobra.ExactArgs with a usage error that names the argument and exits 1.
func exactArgs(n int, name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return withCode(exitError, fmt.Errorf("%s needs %s (got %d arguments); see --help", cmd.CommandPath(), name, len(args)))
		}
		return nil
	}
}
