package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// SandboxOptions are the options of `leaf-import sandbox`.
type SandboxOptions struct {
	IO           *IOStreams
	Addr         string
	StatePath    string
	Faults       string
	RateLimit    string
	Username     string
	Password     string
	NoPatch      bool
	SaveInterval time.Duration
	// ready, when set, receives the listening URL (tests).
	ready func(url string)
}

// NewCmdSandbox builds `leaf-import sandbox`.
func NewCmdSandbox(f *Factory, runF func(context.Context, *SandboxOptions) error) *cobra.Command {
	opts := &SandboxOptions{IO: f.IO, SaveInterval: time.Second}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Serve an in-memory Leaf API on loopback to try leaf-import without a Leaf account",
		Long: `sandbox serves the Leaf API contract from memory: authentication, users, the credentials of
every provider, app keys and api keys. It prints the URL and the environment to export.

--faults injects seeded faults, comma-separated key=value:
  500=P 502=P 503=P 504=P   answer that status with probability P
  429=P 429-bare=P          answer 429 with (Retry-After: 1) or without Retry-After
  reset-before-commit=P     drop the connection before handling the request
  reset-after-commit=P      commit a mutation, then drop the connection
  stall-after-commit=P      commit a mutation, then hold the answer for stall=D (default 2s)
  latency=D or D1-D2        delay every request
  lag=D                     keep a new user out of GET /users lists for D
  token-ttl=D               tokens issued from now on expire after D
  seed=N                    seed of the fault draws
Admin endpoints (no token, never faulted, not counted): GET /__sandbox/stats,
GET|PUT /__sandbox/state, POST /__sandbox/reset, GET|PUT /__sandbox/faults,
PATCH /__sandbox/users/{id}/{credential-path} {"status":"INVALID"}.`,
		Example: `  leaf-import sandbox
  leaf-import sandbox --addr 127.0.0.1:0 --state sandbox.json --faults 503=0.1,lag=200ms,seed=7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runSandbox(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8089", "address to listen on (loopback)")
	fl.StringVar(&opts.StatePath, "state", "", "load the state from FILE and save it there while running")
	fl.StringVar(&opts.Faults, "faults", "", "fault spec (see above)")
	fl.StringVar(&opts.RateLimit, "rate-limit", "", "answer 429 above N requests per fixed window: N/m or N/s")
	fl.StringVar(&opts.Username, "username", "sandbox", "API-owner username to accept")
	fl.StringVar(&opts.Password, "password", "sandbox", "API-owner password to accept")
	fl.BoolVar(&opts.NoPatch, "no-patch", false, "answer 405 to PATCH /users/{id}, as if Leaf had no PATCH")
	return cmd
}

func runSandbox(ctx context.Context, opts *SandboxOptions) error {
	sopts := []sandbox.Option{
		sandbox.WithLogin(opts.Username, opts.Password),
		sandbox.WithFaults(opts.Faults),
		sandbox.WithRateLimit(opts.RateLimit),
	}
	if opts.NoPatch {
		sopts = append(sopts, sandbox.WithPatchDisabled())
	}
	if opts.StatePath != "" {
		data, err := os.ReadFile(opts.StatePath)
		switch {
		case err == nil:
			st, err := sandbox.UnmarshalState(data)
			if err != nil {
				return withCode(exitError, fmt.Errorf("%s: %w", opts.StatePath, err))
			}
			sopts = append(sopts, sandbox.WithState(st))
		case errors.Is(err, os.ErrNotExist):
		default:
			return withCode(exitError, err)
		}
	}
	srv, err := sandbox.New(sopts...)
	if err != nil {
		return withCode(exitError, err)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return withCode(exitError, err)
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(opts.IO.Out, "Leaf sandbox listening on %s\n\n", url)
	fmt.Fprintf(opts.IO.Out, "  export LEAF_API_URL=%s\n  export LEAF_USERNAME=%s\n  export LEAF_PASSWORD=%s\n\n", url, opts.Username, opts.Password)
	fmt.Fprintf(opts.IO.Out, "Stats: %s/__sandbox/stats   State: %s/__sandbox/state   Stop: Ctrl-C\n", url, url)
	if opts.ready != nil {
		opts.ready(url)
	}

	hs := &http.Server{Handler: srv, ConnState: srv.ConnState, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signalContext(ctx)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	save := func() error {
		if opts.StatePath == "" || !srv.TakeDirty() {
			return nil
		}
		data, err := sandbox.MarshalState(srv.State())
		if err != nil {
			return err
		}
		return atomicfile.Write(opts.StatePath, data, 0o600)
	}
	tick := time.NewTicker(opts.SaveInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return withCode(exitError, err)
		case <-tick.C:
			if err := save(); err != nil {
				fmt.Fprintln(opts.IO.ErrOut, "sandbox: saving state:", err)
			}
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = hs.Shutdown(sctx)
			cancel()
			return save()
		}
	}
}
