package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/planview"
)

// PlanOptions are the options of `leaf-import plan`.
type PlanOptions struct {
	IO               *IOStreams
	Factory          *Factory
	Manifest         string
	Out              string
	Format           format
	DetailedExitcode bool
	AcceptNotices    bool
	Diff             DiffFlags
}

// errNotSaved ends the saved plan of a plan that has refusals (they are reported after it).
var errNotSaved = errors.New("the plan has refusals: not saved")

// NewCmdPlan builds `leaf-import plan`.
func NewCmdPlan(f *Factory, runF func(context.Context, *PlanOptions) error) *cobra.Command {
	opts := &PlanOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "plan MANIFEST",
		Short: "Show what apply would change in Leaf, without changing anything",
		Long: `plan reads the manifest and the current Leaf state (all users in pages of 100, with their
credentials, plus the app keys of the providers the manifest registers apps for) and prints the
changes that would make Leaf match the manifest. It sends no mutating request.

  + create   ~ update   ± replace (a credential is deleted and posted again)   - delete

Secrets never appear: a changed secret shows as a keyed fingerprint (fp:3f9a1c2e), keyed by
the account's key (created once in its workspace) or LEAF_IMPORT_FINGERPRINT_KEY, so that one
secret shows one fingerprint in every plan and apply of the account. Users that recent runs
created count as existing while Leaf's list lags, and requests that earlier runs left in doubt
are listed ("?"): apply settles them by lookup first. plan takes no lock and writes nothing
but the fingerprint key. --out saves the plan (JSON, no secrets)
for review; apply --plan applies it and refuses the changes whose Leaf object changed since.`,
		Example: `  leaf-import plan samples/manifest.yaml
  leaf-import plan samples/manifest.yaml --prune --max-deletes 5 --out plan.json
  leaf-import plan growers.csv --format json --detailed-exitcode`,
		Args: exactArgs(1, "MANIFEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Manifest = args[0]
			if err := opts.Diff.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPlan(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Out, "out", "", "save the plan as JSON (no secrets) for apply --plan")
	choiceVar(fl, &opts.Format, "format", formatText, "output format: text, json, or markdown (a pull-request comment: the summary, then the changes in collapsible sections, cut to 65,536 characters)",
		formatText, formatJSON, formatMarkdown)
	fl.BoolVar(&opts.DetailedExitcode, "detailed-exitcode", false, "exit 2 when there are changes, else 6 when growers need a person, else 0 (1 error)")
	fl.BoolVar(&opts.AcceptNotices, "accept-notices", false, "with --detailed-exitcode: exit 0 rather than 6 for conflicts and notices")
	opts.Diff.register(fl)
	return cmd
}

func runPlan(ctx context.Context, opts *PlanOptions) error {
	f := opts.Factory
	log := f.Logger()
	if err := checkOutputs(outputPath{flag: "--out", path: opts.Out}); err != nil {
		return err
	}
	m, err := loadManifest(f, opts.Manifest, log)
	if err != nil {
		return reportProblems(opts.IO.ErrOut, opts.Manifest, err)
	}
	common, err := commonOptions(f, m, &opts.Diff, 8, nil)
	if err != nil {
		return err
	}
	p, err := lifecycle.Plan(ctx, common)
	if err != nil {
		return reportProblems(opts.IO.ErrOut, opts.Manifest, err)
	}
	boundMemory(planMemoryFloor) // the plan is computed as it is shown: the manifest and the state are the live data
	// One pass over the changes makes the plan shown (text, or JSON with its summary after the
	// changes) and, with --out, the plan saved; the saved plan is kept only if the counted plan
	// passes its valves and has no refusal.
	saving := opts.Out != ""
	meta := &planview.View{Tool: common.Tool, CreatedAt: time.Now().UTC().Format(time.RFC3339),
		LeafURL: common.Client.BaseURL(), Account: common.Account.Owner, ManifestDigest: m.Digest}
	check := func(sum *plan.Summary) error {
		if len(sum.Refused) > 0 {
			return errNotSaved
		}
		return sum.CheckValves(common.Valves)
	}
	var sum *plan.Summary // what the pass that showed the plan found
	switch {
	case saving:
		err = atomicfile.WriteFunc(opts.Out, 0o600, func(fw io.Writer) error {
			var err error
			switch opts.Format {
			case formatJSON:
				sum, err = planview.RenderJSONAndSave(p, opts.IO.Out, common.Rate, meta, fw, check)
			case formatMarkdown:
				sum, err = planview.RenderTextAndSave(p, io.Discard, common.Rate, meta, fw, check)
			default:
				sum, err = planview.RenderTextAndSave(p, opts.IO.Out, common.Rate, meta, fw, check)
			}
			return err
		})
		var ve *plan.ValveError
		if errors.Is(err, errNotSaved) || errors.As(err, &ve) {
			saving, err = false, nil // the plan was shown; the checks below say why nothing was saved
		}
	case opts.Format == formatJSON:
		sum, err = planview.RenderJSON(p, opts.IO.Out, common.Rate)
	case opts.Format == formatMarkdown: // below, once the plan is known whole
	default:
		sum, err = planview.RenderText(p, opts.IO.Out, common.Rate)
	}
	if err == nil && opts.Format == formatMarkdown {
		sum, err = renderMarkdownPlan(opts.IO.Out, p, common.Rate, meta)
	}
	if err == nil && sum == nil { // a check refused the saved plan before the pass was done
		sum, err = p.Summarize()
	}
	if err != nil {
		return withCode(exitError, err)
	}
	return planExit(opts, sum, common.Valves, saving, log)
}

// planExit is how plan ends once the plan is shown: its refusals and valves, then with
// --detailed-exitcode whether it has changes or growers that need a person.
func planExit(opts *PlanOptions, sum *plan.Summary, valves plan.Valves, saved bool, log *slog.Logger) error {
	if len(sum.Refused) > 0 {
		return reportProblems(opts.IO.ErrOut, opts.Manifest, sum.Refused)
	}
	if err := sum.CheckValves(valves); err != nil {
		return withCode(exitError, err)
	}
	if saved {
		log.Info("saved the plan", "file", opts.Out, "changes", sum.Total().Changes())
	}
	switch t := sum.Total(); {
	case !opts.DetailedExitcode:
	case t.Changes() > 0:
		return withCode(exitChanges, nil)
	case t.Attention() > 0 && !opts.AcceptNotices:
		return withCode(exitAttention, nil)
	}
	return nil
}

// renderMarkdownPlan writes the plan for a pull-request comment (a second pass when it was saved).
func renderMarkdownPlan(w io.Writer, p *plan.Plan, rate float64, meta *planview.View) (*plan.Summary, error) {
	v, sum, err := planview.CollectView(p, rate)
	if err != nil {
		return nil, err
	}
	v.Account, v.LeafURL = meta.Account, meta.LeafURL
	return sum, planview.RenderMarkdown(w, v)
}
