package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// DiffFlags are the flags plan and apply share.
type DiffFlags struct {
	Rate               rateFlag
	Prune              bool
	AdoptByEmail       bool
	ReplaceCredentials bool
	UpdateApps         bool
	RefreshConfig      bool
	MaxChanges         int
	MaxDeletes         string
	Select             SelectFlags
}

// SelectFlags are the selection flags plan, apply and export share.
type SelectFlags struct {
	Only      []string
	OnlyFile  string
	Providers []string
	Kinds     []string
	sel       plan.Selection
}

func (s *SelectFlags) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&s.Only, "only", nil, "select growers by externalId (comma-separated, repeatable); nothing outside the selection is changed or pruned")
	fs.StringVar(&s.OnlyFile, "only-file", "", "select the growers whose externalIds FILE lists, one per line (# starts a comment)")
	fs.StringSliceVar(&s.Providers, "provider", nil, "select providers (comma-separated): their credentials and apps")
	fs.StringSliceVar(&s.Kinds, "kind", nil, "select kinds: user, credential, app, config (comma-separated)")
}

// check checks the flags and builds the selection.
func (s *SelectFlags) check() error {
	var sel plan.Selection
	ids := slices.Clone(s.Only)
	if s.OnlyFile != "" {
		data, err := os.ReadFile(s.OnlyFile)
		if err != nil {
			return withCode(exitError, fmt.Errorf("--only-file: %w", err))
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				ids = append(ids, line)
			}
		}
		if len(ids) == len(s.Only) {
			return withCode(exitError, fmt.Errorf("--only-file: %s lists no externalId", s.OnlyFile))
		}
	}
	if s.Only != nil || s.OnlyFile != "" {
		sel.Only = map[string]bool{}
		for _, id := range ids {
			if id = strings.TrimSpace(id); id != "" {
				sel.Only[id] = true
			}
		}
		if len(sel.Only) == 0 {
			return withCode(exitError, fmt.Errorf("--only selects no externalId"))
		}
	}
	var err error
	if sel.Providers, err = plan.ParseProviders(s.Providers); err != nil {
		return withCode(exitError, fmt.Errorf("--provider: %w", err))
	}
	if sel.Kinds, err = plan.ParseKinds(s.Kinds); err != nil {
		return withCode(exitError, fmt.Errorf("--kind: %w", err))
	}
	s.sel = sel
	return nil
}

func (d *DiffFlags) register(fs *pflag.FlagSet) {
	registerRate(fs, &d.Rate, "requests per second to Leaf, every request included")
	fs.BoolVar(&d.Prune, "prune", false, "delete Leaf users, credentials and apps that the manifest does not name")
	fs.BoolVar(&d.AdoptByEmail, "adopt-by-email", false, "a grower without a Leaf user of its externalId adopts the only Leaf user (without externalId) of its email")
	fs.BoolVar(&d.ReplaceCredentials, "replace-credentials", false, "replace every credential the manifest names (Leaf cannot show some secrets to compare)")
	fs.BoolVar(&d.UpdateApps, "update-apps", false, "re-send every app registration the manifest names (Leaf returns no app secrets to compare)")
	fs.BoolVar(&d.RefreshConfig, "refresh-config", false, "read every managed grower's config from Leaf to catch drift (by default only configs not recorded as applied are read)")
	fs.IntVar(&d.MaxChanges, "max-changes", -1, "refuse a plan with more than N changes (-1: no limit)")
	fs.StringVar(&d.MaxDeletes, "max-deletes", "", "refuse a plan with more than N deletes, or P% of the managed objects (default 10% with --prune)")
	d.Select.register(fs)
}

// check validates the flag values.
func (d *DiffFlags) check() error {
	if err := d.Select.check(); err != nil {
		return err
	}
	_, err := d.valves()
	return err
}

func (d *DiffFlags) options(fp *plan.Fingerprinter) plan.Options {
	return plan.Options{Prune: d.Prune, AdoptByEmail: d.AdoptByEmail, ReplaceCredentials: d.ReplaceCredentials,
		UpdateApps: d.UpdateApps, RefreshConfig: d.RefreshConfig, Fingerprints: fp, Selection: d.Select.sel}
}

func (d *DiffFlags) valves() (plan.Valves, error) {
	v := plan.Valves{MaxChanges: d.MaxChanges}
	switch {
	case d.MaxDeletes != "":
		l, err := plan.ParseLimit(d.MaxDeletes)
		if err != nil {
			return v, withCode(exitError, fmt.Errorf("--max-deletes: %w", err))
		}
		v.MaxDeletes = &l
	case d.Prune:
		l := plan.DefaultMaxDeletes
		v.MaxDeletes = &l
	}
	return v, nil
}

// connEnv reads the connection settings: LEAF_API_URL, LEAF_TOKEN or LEAF_TOKEN_FILE,
// LEAF_USERNAME, LEAF_PASSWORD or LEAF_PASSWORD_FILE (a file holding the secret, as Kubernetes
// and Docker mount secrets; a trailing newline is dropped). It returns a getenv that answers
// the resolved values.
func (f *Factory) connEnv() (func(string) string, error) {
	if f.conn == nil && f.connErr == nil { // read the secret files once per command
		f.conn, f.connErr = f.readConnEnv()
	}
	return f.conn, f.connErr
}

func (f *Factory) readConnEnv() (func(string) string, error) {
	vals := map[string]string{}
	for _, name := range []string{"LEAF_TOKEN", "LEAF_PASSWORD"} {
		v, set := f.LookupEnv(name)
		file := f.Getenv(name + "_FILE")
		switch {
		case set && file != "":
			return nil, withCode(exitAuth, fmt.Errorf("both %s and %s_FILE are set: set one", name, name))
		case file != "":
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, withCode(exitAuth, fmt.Errorf("%s_FILE: cannot read %s: %w", name, file, errors.Unwrap(err)))
			}
			v = strings.TrimRight(string(data), "\r\n")
			if v == "" {
				return nil, withCode(exitAuth, fmt.Errorf("%s_FILE: %s is empty", name, file))
			}
		}
		vals[name] = v
	}
	if f.Getenv("LEAF_USERNAME") != "" && vals["LEAF_PASSWORD"] == "" {
		return nil, withCode(exitAuth, fmt.Errorf("LEAF_USERNAME is set but LEAF_PASSWORD is not: set LEAF_PASSWORD or LEAF_PASSWORD_FILE"))
	}
	return func(k string) string {
		if v, ok := vals[k]; ok {
			return v
		}
		return f.Getenv(k)
	}, nil
}

// newClient builds the Leaf client from the environment, paced by pacer.
func newClient(f *Factory, pacer *leaf.Pacer, concurrency int, log *slog.Logger) (*leaf.Client, error) {
	getenv, err := f.connEnv()
	if err != nil {
		return nil, err
	}
	opts := append(leaf.EnvOptions(getenv),
		leaf.WithPacer(pacer),
		leaf.WithConcurrency(concurrency),
		leaf.WithUserAgent("leaf-import/"+version),
		leaf.WithLogger(log))
	opts = append(opts, f.clientOptions...)
	c, err := leaf.NewClient(opts...)
	if err != nil {
		return nil, withCode(exitError, err)
	}
	return c, nil
}

// learnedPace is the pace the account's last --rate auto run ended at, when it is recent: where
// the next one starts (0: none).
func learnedPace(root string, acct workspace.Account, log *slog.Logger) float64 {
	ws, err := workspace.At(root, acct)
	if err != nil {
		return 0
	}
	l, err := ws.Learned()
	if err != nil {
		log.Warn("ignoring what earlier runs learned of the account", "err", err)
		return 0
	}
	pace, _, ok := l.FreshPace(time.Now())
	if !ok {
		return 0
	}
	log.Info("--rate auto starts from the pace an earlier run of the account learned", "pace", fmt.Sprintf("%.1f/s", pace),
		"learnedAt", l.PaceAt.Format(time.RFC3339))
	return pace
}

// reportProblems prints manifest problems on w and returns the error that ends the command.
func reportProblems(w io.Writer, name string, err error) error {
	var problems manifest.Problems
	if !errors.As(err, &problems) {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(w, p.String())
	}
	return withCode(exitError, fmt.Errorf("%s has %d problem(s); nothing was sent to Leaf", name, problems.Count()))
}

// commonOptions builds what plan and apply hand to the run lifecycle: the manifest, a client
// (not yet authenticated), the account and its state directory. The account is resolved first:
// a --rate auto client starts from the pace the account's earlier runs learned.
func commonOptions(f *Factory, m *manifest.Manifest, d *DiffFlags, concurrency int, fp *plan.Fingerprinter) (lifecycle.Options, error) {
	log := f.Logger()
	if m != nil && m.Partial && d.Prune {
		return lifecycle.Options{}, withCode(exitError, fmt.Errorf("the manifest is a --failed-rows file (it has a %s column): it lists some growers only, "+
			"and --prune would delete every other one; apply it without --prune", manifest.FailedRowsColumn))
	}
	if _, err := f.connEnv(); err != nil {
		return lifecycle.Options{}, err
	}
	url := f.apiURL()
	acct, acctErr := f.account(url)
	var mismatch *workspace.MismatchError
	if errors.As(acctErr, &mismatch) {
		return lifecycle.Options{}, withCode(exitError, acctErr)
	}
	root, err := workspace.Root(f.stateDir, f.Getenv)
	if err != nil {
		return lifecycle.Options{}, withCode(exitError, err)
	}
	start := 0.0
	if d.Rate.auto && acctErr == nil {
		start = learnedPace(root, acct, log)
	}
	client, err := newClient(f, d.Rate.pacer(start), concurrency, log)
	if err != nil {
		return lifecycle.Options{}, err
	}
	valves, _ := d.valves()
	return lifecycle.Options{Manifest: m, Client: client, Account: acct, AccountErr: acctErr, StateRoot: root,
		FingerprintKey: f.Getenv("LEAF_IMPORT_FINGERPRINT_KEY"), Diff: d.options(fp), Valves: valves, Rate: d.Rate.estimate(start),
		AutoRate: d.Rate.auto, Tool: "leaf-import " + version, Log: log}, nil
}

// apiURL is the Leaf URL the environment names (LEAF_API_URL), else Leaf's own.
func (f *Factory) apiURL() string {
	if v := f.Getenv("LEAF_API_URL"); v != "" {
		return v
	}
	return leaf.DefaultBaseURL
}
