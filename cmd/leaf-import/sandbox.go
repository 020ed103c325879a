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
	Public       bool
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
every provider, app keys, api keys and configurations. It prints the URL and the environment to export.

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
  route=ROUTE               limit latency and drawn faults to one route as the stats name it
                            (route=PATCH /configs/{leafUserId}); lag and limits stay global
Admin endpoints (no token, never faulted, not counted): GET /__sandbox/stats,
GET|PUT /__sandbox/state, POST /__sandbox/reset, GET|PUT /__sandbox/faults,
PATCH /__sandbox/users/{id}/{credential-path} {"status":"INVALID"}.

The sandbox listens on loopback only: GET /__sandbox/state hands every stored secret to anyone
who can reach it. A non-loopback --addr is refused unless --public is given. Request bodies
over 1 MiB are answered 413.`,
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
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8089", "address to listen on: a loopback address unless --public")
	fl.BoolVar(&opts.Public, "public", false, "allow a non-loopback --addr (the admin endpoints serve every stored secret without a token)")
	fl.StringVar(&opts.StatePath, "state", "", "load the state from FILE and save it there while running")
	fl.StringVar(&opts.Faults, "faults", "", "fault spec (see above)")
	fl.StringVar(&opts.RateLimit, "rate-limit", "", "answer 429 above N requests per fixed window: N/m or N/s")
	fl.StringVar(&opts.Username, "username", "sandbox", "API-owner username to accept")
	fl.StringVar(&opts.Password, "password", "sandbox", "API-owner password to accept")
	fl.BoolVar(&opts.NoPatch, "no-patch", false, "answer 405 to PATCH /users/{id}, as if Leaf had no PATCH")
	return cmd
}

// serverOptions are the sandbox's options from the flags, with the state file's data set.
func serverOptions(opts *SandboxOptions) ([]sandbox.Option, error) {
	sopts := []sandbox.Option{
		sandbox.WithLogin(opts.Username, opts.Password),
		sandbox.WithFaults(opts.Faults),
		sandbox.WithRateLimit(opts.RateLimit),
	}
	if opts.NoPatch {
		sopts = append(sopts, sandbox.WithPatchDisabled())
	}
	if opts.StatePath == "" {
		return sopts, nil
	}
	data, err := os.ReadFile(opts.StatePath)
	switch {
	case err == nil:
		st, err := sandbox.UnmarshalState(data)
		if err != nil {
			return nil, withCode(exitError, fmt.Errorf("%s: %w", opts.StatePath, err))
		}
		sopts = append(sopts, sandbox.WithState(st))
	case errors.Is(err, os.ErrNotExist):
	default:
		return nil, withCode(exitError, err)
	}
	return sopts, nil
}

func runSandbox(ctx context.Context, opts *SandboxOptions) error {
	sopts, err := serverOptions(opts)
	if err != nil {
		return err
	}
	srv, err := sandbox.New(sopts...)
	if err != nil {
		return withCode(exitError, err)
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return withCode(exitError, fmt.Errorf("--addr %q: %w", opts.Addr, err))
	}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	if !loopback && !opts.Public {
		return withCode(exitError, fmt.Errorf("refusing to listen on %s: the sandbox's admin endpoints (/__sandbox/state, /__sandbox/stats, ...) "+
			"need no token and /__sandbox/state serves every stored secret; listen on a loopback address (127.0.0.1:PORT), "+
			"or pass --public to serve other machines anyway", opts.Addr))
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return withCode(exitError, err)
	}
	if !loopback {
		fmt.Fprintf(opts.IO.ErrOut, "WARNING: the sandbox listens on %s, beyond this machine: anyone who reaches it can read every stored secret "+
			"at /__sandbox/state and change the state through /__sandbox/state, /__sandbox/reset and /__sandbox/faults, without a token.\n",
			ln.Addr())
	}
	url := "http://" + clientAddr(host, ln.Addr())
	fmt.Fprintf(opts.IO.Out, "Leaf sandbox listening on %s\n\n", url)
	fmt.Fprintf(opts.IO.Out, "  export LEAF_API_URL=%s\n  export LEAF_USERNAME=%s\n  export LEAF_PASSWORD=%s\n\n", url, opts.Username, opts.Password)
	fmt.Fprintf(opts.IO.Out, "Stats: %s/__sandbox/stats   State: %s/__sandbox/state   Stop: Ctrl-C\n", url, url)
	if opts.ready != nil {
		opts.ready(url)
	}

	hs := &http.Server{Handler: srv, ConnState: srv.ConnState, ReadHeaderTimeout: 10 * time.Second}
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

// clientAddr is the address a client on this machine uses to reach a listener asked for host:
// a loopback address of the listener's port when it listens beyond loopback (leaf-import
// refuses plain http to anything but loopback).
func clientAddr(host string, a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() {
		return a.String()
	}
	loop := "127.0.0.1"
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		loop = "::1"
	}
	return net.JoinHostPort(loop, fmt.Sprint(tcp.Port))
}
