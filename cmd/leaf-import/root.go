package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// Factory carries what every command needs from the outside world, so that tests can run
// commands in-process with their own streams and environment.
type Factory struct {
	IO *IOStreams
	// LookupEnv reads the environment (os.LookupEnv in main).
	LookupEnv func(string) (string, bool)
	// clientOptions are appended to every Leaf client's options (tests pass a fast backoff).
	clientOptions []leaf.Option
	// logFormat and verbose are the persistent logging flags.
	logFormat string
	verbose   bool
	// stateDir (--state-dir) and accountName (--account) locate the account's workspace.
	stateDir    string
	accountName string
	// conn and connErr are the connection settings, read once (connEnv).
	conn    func(string) string
	connErr error
	// allowDirs (--allow-file-dir) are directories beyond the manifest's own tree that its
	// ${file:} references may read.
	allowDirs []string
	// interrupts is the command's SIGINT/SIGTERM handling (nil in tests of a single command).
	interrupts *interrupts
	// screen shares stderr between the log and a progress bar.
	screen *screen
	// attentionExit (--attention-exit-code) is the exit code of "finished, but growers need a
	// person" (6 unless changed).
	attentionExit int
}

// account resolves the Leaf account at url from the environment: the owner is LEAF_USERNAME,
// else --account or LEAF_ACCOUNT, else LEAF_TOKEN's subject claim.
func (f *Factory) account(url string) (workspace.Account, error) {
	explicit := f.accountName
	if explicit == "" {
		explicit = f.Getenv("LEAF_ACCOUNT")
	}
	token := f.Getenv("LEAF_TOKEN")
	if getenv, err := f.connEnv(); err == nil {
		token = getenv("LEAF_TOKEN")
	}
	return workspace.ResolveAccount(workspace.AccountSettings{URL: url, Username: f.Getenv("LEAF_USERNAME"),
		Explicit: explicit, TokenSubject: leaf.TokenSubject(token)})
}

// Logger returns the stderr logger in the format the user chose.
func (f *Factory) Logger() *slog.Logger {
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if f.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(f.errScreen(), opts))
	}
	return slog.New(slog.NewTextHandler(f.errScreen(), opts))
}

// errScreen is stderr, shared by the log and a progress bar.
func (f *Factory) errScreen() *screen {
	if f.screen == nil {
		f.screen = newScreen(f.IO.ErrOut)
	}
	return f.screen
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "leaf-import",
		Short: "Onboard growers into the Leaf Agriculture API in bulk and keep them in sync",
		Long: `leaf-import reads a manifest of growers, their provider connections and the API owner's
provider apps, diffs it against Leaf into a plan, and applies the plan concurrently under a
rate limit, with retries, a crash-safe journal and a result report.

Connection settings come from the environment: LEAF_API_URL (default https://api.withleaf.io),
LEAF_TOKEN, or LEAF_USERNAME and LEAF_PASSWORD. LEAF_TOKEN_FILE and LEAF_PASSWORD_FILE name
files holding the secret instead (Kubernetes and Docker secrets mounted as files).

What leaf-import knows of an account between runs (the account lock, the fingerprint key, each
run's journal and report) lives in the account's workspace under --state-dir
(LEAF_IMPORT_STATE_DIR, default $XDG_STATE_HOME/leaf-import or ~/.local/state/leaf-import).
The account is the Leaf URL plus the API owner: LEAF_USERNAME, else --account (LEAF_ACCOUNT),
else the subject of LEAF_TOKEN.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if f.logFormat != "text" && f.logFormat != "json" {
				return withCode(exitError, fmt.Errorf("--log-format must be text or json, not %q", f.logFormat))
			}
			if c := f.attentionExit; c != 0 && (c < exitAttention || c > 125) {
				return withCode(exitError, fmt.Errorf("--attention-exit-code must be 0, or 6 to 125 (1 to 5 and 130 mean other things), not %d", c))
			}
			return nil
		},
	}
	root.PersistentFlags().StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	root.PersistentFlags().BoolVarP(&f.verbose, "verbose", "v", false, "log debug messages (retries, pauses)")
	root.PersistentFlags().StringVar(&f.stateDir, "state-dir", "", "directory of the account workspaces (default $LEAF_IMPORT_STATE_DIR, $XDG_STATE_HOME/leaf-import, ~/.local/state/leaf-import)")
	root.PersistentFlags().StringArrayVar(&f.allowDirs, "allow-file-dir", nil, "a directory beyond the manifest's own that ${file:PATH} references may read (repeatable)")
	root.PersistentFlags().IntVar(&f.attentionExit, "attention-exit-code", exitAttention,
		"exit code when the command finished but growers need a person (0 lets a scheduler count the run a success and leaves the news to the metrics' alert)")
	root.PersistentFlags().StringVar(&f.accountName, "account", "", "the API owner a LEAF_TOKEN acts for, when the token does not name it (default $LEAF_ACCOUNT)")
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitError, err) })

	root.AddCommand(
		NewCmdValidate(f, nil),
		NewCmdPlan(f, nil),
		NewCmdApply(f, nil),
		NewCmdExport(f, nil),
		NewCmdStatus(f, nil),
		NewCmdDoctor(f, nil),
		NewCmdLinkKeys(f, nil),
		NewCmdRuns(f, nil),
		NewCmdProviders(f, nil),
		NewCmdSchema(f, nil),
		NewCmdShow(f, nil),
		NewCmdSandbox(f, nil),
	)
	return root
}

// Getenv returns an environment variable, "" when unset.
func (f *Factory) Getenv(k string) string {
	v, _ := f.LookupEnv(k)
	return v
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, io *IOStreams, lookupEnv func(string) (string, bool), clientOptions ...leaf.Option) int {
	f := &Factory{IO: io, LookupEnv: lookupEnv, logFormat: "text", attentionExit: exitAttention, clientOptions: clientOptions}
	in := watchInterrupts(ctx, f)
	defer in.release()
	f.interrupts = in
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(in.ctx)
	code := exitCode(err)
	var ee *exitErr
	if err != nil && in.signaled.Load() && !(errors.As(err, &ee) && ee.code == exitInterrupted) {
		// A command cut short by a signal: whatever failed, it failed because of the signal.
		code, err = exitInterrupted, fmt.Errorf("interrupted; nothing was changed (%v)", err)
	}
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(io.ErrOut, "leaf-import: "+strings.TrimPrefix(msg, "leaf-import: "))
		}
	}
	if code == exitAttention {
		code = f.attentionExit
	}
	return code
}
