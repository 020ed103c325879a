package main

import (
	"context"
	"time"

	"github.com/spf13/pflag"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/metrics"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// metricsFlags are --metrics-file and --metrics-push, on the commands a nightly job runs.
type metricsFlags struct{ file, push string }

func registerMetrics(fl *pflag.FlagSet, m *metricsFlags, what string) {
	fl.StringVar(&m.file, "metrics-file", "", "write "+what+" Prometheus metrics to FILE at the end (.prom, for node_exporter's textfile collector)")
	fl.StringVar(&m.push, "metrics-push", "", "push "+what+" Prometheus metrics to the Pushgateway at URL at the end (grouped by job and account)")
}

func (m metricsFlags) set() bool { return m.file != "" || m.push != "" }

// check refuses a metrics destination that cannot work, before anything is sent.
func (m metricsFlags) check() error {
	if m.push != "" {
		if err := metrics.CheckPushURL(m.push); err != nil {
			return withCode(exitError, &outputError{err})
		}
	}
	return checkOutputs(outputPath{flag: "--metrics-file", path: m.file})
}

// account is the account the metrics are about, resolved from the environment alone (so that a
// run that fails before it reads its manifest, or before it reaches Leaf, carries the same
// account label as one that succeeds), and the state root that holds its history.
func (f *Factory) metricsAccount() (workspace.Account, string) {
	url := f.apiURL()
	acct, _ := f.account(url)
	if acct.URL == "" {
		acct.URL = leaf.CanonicalURL(url)
	}
	root, _ := workspace.Root(f.stateDir, f.Getenv)
	return acct, root
}

// publish writes and pushes a command's metrics.
func (m metricsFlags) publish(ctx context.Context, f *Factory, command string, c metrics.Collector) error {
	acct, _ := f.metricsAccount()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second) // an interrupted run still reports
	defer cancel()
	return metrics.Destination{File: m.file, PushURL: m.push, Account: acct.Label()}.Publish(ctx, command, c)
}

// lastSuccess is when command last succeeded for the account: now when this run did, else the
// newest success of the workspace history.
func (f *Factory) lastSuccess(command string, succeeded bool) time.Time {
	if succeeded {
		return time.Now()
	}
	acct, root := f.metricsAccount()
	return lifecycle.LastSuccess(root, acct, command)
}
