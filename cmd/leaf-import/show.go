package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/htmlview"
	"github.com/leaf-import/leaf-import/internal/planview"
)

// ShowOptions are the options of `leaf-import show`.
type ShowOptions struct {
	IO     *IOStreams
	Plan   string
	Format format
}

// NewCmdShow builds `leaf-import show`.
func NewCmdShow(f *Factory, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "show PLAN.json",
		Short: "Show a saved plan without reaching Leaf",
		Long: `show renders a plan saved with plan --out, as plan showed it (text), as its JSON, or as
Markdown for a pull-request comment. It reads the file only: nothing is sent to Leaf, and no
credential is needed.`,
		Example: `  leaf-import plan growers.csv --out plan.json
  leaf-import show plan.json --format markdown > comment.md`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Plan = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runShow(opts)
		},
	}
	choiceVar(cmd.Flags(), &opts.Format, "format", formatText, "output format: text, json, markdown or html (one self-contained page)",
		formatText, formatJSON, formatMarkdown, formatHTML)
	return cmd
}

func runShow(opts *ShowOptions) error {
	fh, err := os.Open(opts.Plan)
	if err != nil {
		return withCode(exitError, err)
	}
	defer fh.Close()
	v, err := planview.ReadSavedWhole(fh)
	if err != nil {
		return withCode(exitError, fmt.Errorf("%s: %w", opts.Plan, err))
	}
	switch opts.Format {
	case formatJSON:
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	case formatMarkdown:
		return planview.RenderMarkdown(opts.IO.Out, v)
	case formatHTML:
		return htmlview.PlanPage(v).Render(opts.IO.Out)
	}
	return planview.RenderViewText(opts.IO.Out, v)
}
