package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

// Destination is where a command's metrics go: a file for node_exporter's textfile collector,
// a Pushgateway, or both. Account is the account's identity, the one value of the account
// label across every command and every outcome.
type Destination struct {
	File    string
	PushURL string
	Account string
}

// Collector is the figures of one command (Run, Status or LinkKeys).
type Collector interface{ collect(*registry) }

// pushTimeout bounds a push: a Pushgateway that does not answer must not hold a nightly Job.
const pushTimeout = 15 * time.Second

// Publish writes the figures of command to the destination. In the file every series carries
// account and command labels; at the Pushgateway the group is the job (leaf_import_ and the
// command) and the account, and a push replaces the group's previous figures whole.
func (d Destination) Publish(ctx context.Context, command string, c Collector) error {
	if d.File != "" {
		r := newRegistry(prometheus.Labels{"account": d.Account, "command": command})
		c.collect(r)
		if err := write(d.File, r.reg); err != nil {
			return err
		}
	}
	if d.PushURL != "" {
		r := newRegistry(prometheus.Labels{"command": command})
		c.collect(r)
		if err := d.push(ctx, command, r.reg); err != nil {
			return err
		}
	}
	return nil
}

// Job is the Pushgateway job of a command.
func Job(command string) string { return "leaf_import_" + strings.ReplaceAll(command, "-", "_") }

func (d Destination) push(ctx context.Context, command string, g prometheus.Gatherer) error {
	target, user, pass, err := pushTarget(d.PushURL)
	if err != nil {
		return err
	}
	p := push.New(target, Job(command)).Grouping("account", d.Account).Gatherer(g).
		Client(&http.Client{Timeout: pushTimeout})
	if user != "" {
		p = p.BasicAuth(user, pass)
	}
	if err := p.PushContext(ctx); err != nil {
		return fmt.Errorf("--metrics-push: %w", err)
	}
	return nil
}

// pushTarget splits a Pushgateway URL into the URL without credentials (the only form ever
// shown) and its basic-auth user and password.
func pushTarget(raw string) (target, user, pass string, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", "", fmt.Errorf("--metrics-push: want the Pushgateway's http(s)://host:port URL")
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	return u.String(), user, pass, nil
}

// CheckPushURL checks a --metrics-push value before anything is sent.
func CheckPushURL(raw string) error {
	_, _, _, err := pushTarget(raw)
	return err
}

// write writes the file atomically and makes it readable by the collector (it holds counts,
// never a secret).
func write(path string, reg *prometheus.Registry) error {
	if !strings.HasSuffix(path, ".prom") {
		return fmt.Errorf("--metrics-file %s: node_exporter's textfile collector reads files ending in .prom", path)
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("--metrics-file: %w", err)
	}
	return os.Chmod(path, 0o644)
}
