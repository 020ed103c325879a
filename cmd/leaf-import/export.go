package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/manifest"
)

// ExportOptions are the options of `leaf-import export`.
type ExportOptions struct {
	IO          *IOStreams
	Factory     *Factory
	Out         string
	Format      manifest.ExportFormat
	WithSecrets bool
	Rate        rateFlag
	Select      SelectFlags
}

// NewCmdExport builds `leaf-import export`.
func NewCmdExport(f *Factory, runF func(context.Context, *ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "export --out DIR",
		Short: "Write the account as a manifest (growers, connections, config, apps)",
		Long: `export reads the account and writes it as a manifest: DIR/manifest.yaml (with --format csv,
the growers go in DIR/growers.csv). Growers are the Leaf users that have an externalId, with their
connections, their own config and the API owner's app registrations. A plan of the exported
manifest shows no changes. Two exports of an unchanged account are byte-identical, so the
files can live in git. The exported manifest takes over management of what it names: plan and
apply it as any other.

Secrets. By default the export holds none: every secret field reads "${keep}", which keeps the
value Leaf holds. A kept field is never compared, and a change that would have to send it (a
credential create or replace, an app create, --update-apps) is refused at plan time until the
value is supplied. Leaf never returns some secrets at all (app secrets, the Sentera, Valley and
Panorama passwords): those are always kept. --with-secrets writes the secrets Leaf does return
into files under DIR/secrets/ (0600), referenced as ${file:secrets/...}.

WARNING: refresh tokens rotate. Two holders of one refresh token invalidate each other: a copy
used under another API owner (staging to production, say) breaks the original connection. A
grower moved to another API owner must re-authorize (leaf-import link-keys), not reuse a copied
token.

What a manifest cannot express (users without externalId, an externalId that several users
carry) is listed on stderr and in DIR/not-exported.txt, never dropped silently.

It reads ceil(users/100) pages, one request per provider with app keys and one per exported
grower for its config (--kind leaves config out), and changes nothing.

Exit codes: 0 everything was written, 6 something could not be expressed (see
not-exported.txt), 1 error, 4 authentication failed.`,
		Example: `  leaf-import export --out account/
  leaf-import export --out account/ --format csv
  leaf-import export --out staging/ --only grower-0001,grower-0002 --with-secrets`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.Out == "":
				return withCode(exitError, fmt.Errorf("--out DIR is required"))
			}
			if err := opts.Select.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runExport(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Out, "out", "", "the directory to write manifest.yaml (and growers.csv, secrets/) into")
	choiceVar(fl, &opts.Format, "format", manifest.ExportYAML, "yaml (growers in manifest.yaml) or csv (growers in growers.csv)", manifest.ExportYAML, manifest.ExportCSV)
	fl.BoolVar(&opts.WithSecrets, "with-secrets", false, "write the secrets Leaf returns into DIR/secrets/ (0600); see the warning on rotating tokens")
	registerRate(fl, &opts.Rate, "requests per second to Leaf")
	opts.Select.register(fl)
	return cmd
}

func runExport(ctx context.Context, opts *ExportOptions) error {
	f := opts.Factory
	if err := checkOutputs(outputPath{flag: "--out", path: opts.Out, dir: true}); err != nil {
		return err
	}
	d := &DiffFlags{Rate: opts.Rate}
	common, err := commonOptions(f, nil, d, 8, nil)
	if err != nil {
		return err
	}
	common.Diff.Selection = opts.Select.sel
	e, err := lifecycle.Export(ctx, lifecycle.ExportOptions{Options: common, Dir: opts.Out, Format: opts.Format, WithSecrets: opts.WithSecrets})
	if err != nil {
		return err
	}
	where := filepath.Join(opts.Out, manifest.ExportManifest)
	fmt.Fprintf(opts.IO.Out, "Exported %d grower(s) (%d connection(s), %d config(s)) and %d app(s) to %s.\n",
		e.Growers, e.Connections, e.Configs, e.Apps, where)
	if len(e.Secret) > 0 {
		fmt.Fprintf(opts.IO.Out, "Wrote %d secret file(s) under %s (0600). Refresh tokens rotate: do not use a copy under another API owner.\n",
			len(e.Secret), filepath.Join(opts.Out, manifest.ExportSecretsDir))
	}
	if n := len(e.NotExported); n > 0 {
		for _, line := range e.NotExported {
			fmt.Fprintln(opts.IO.ErrOut, "not exported: "+line)
		}
		return withCode(exitAttention, fmt.Errorf("%d item(s) could not be expressed in a manifest (listed in %s)", n,
			filepath.Join(opts.Out, manifest.ExportNotExported)))
	}
	return nil
}
